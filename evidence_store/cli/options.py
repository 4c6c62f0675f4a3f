"""What every package's commands share: ``--data-dir``, ``--json``, the operator's name for
the custody log, and a progress bar for long work."""

from __future__ import annotations

import getpass
import json
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from evidence_store.installation import DataDir
from evidence_store.settings import EvidenceSettings

F = TypeVar("F", bound=Callable[..., Any])
SETTINGS_KEY = "sealroom.evidence"
stderr = Console(stderr=True)


def data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Data directory (default: $SEALROOM_DATA_DIR, then ./sealroom-data).",
    )(func)


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."
    )(func)


def data_dir_from(ctx: click.Context, explicit: Path | None) -> DataDir:
    settings = ctx.meta.get(SETTINGS_KEY) or EvidenceSettings()
    return DataDir.resolve(explicit, settings)


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def operator() -> str:
    """Who is acting at the command line, for the custody log."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


@contextmanager
def byte_progress(
    description: str, total: int, *, enabled: bool
) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when a person is watching; silent otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _n: None
        return
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
