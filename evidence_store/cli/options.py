"""What every package's commands share: ``--data-dir``, ``--json``, the operator's name for
the custody log, ``PLAIN_TEXT`` for every free-text option (the metadata rule, exit 2), a
progress bar for long work, and how a command line ends (one line and an exit status:
0 success, 1 evidence failed verification or the operation failed, 2 usage error)."""

from __future__ import annotations

import json
import os
import pwd
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from evidence_store.errors import SealroomError
from evidence_store.installation import DataDir
from evidence_store.model import plain_text_problem
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
    """The installation a command works on. From here on the process creates nothing in it
    more open than its policy (owner only, or group-readable where configured)."""
    settings = ctx.meta.get(SETTINGS_KEY) or EvidenceSettings()
    data = DataDir.resolve(explicit, settings)
    data.restrict_new_files()
    return data


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def operator() -> str:
    """Who is acting at the command line, for the custody log: the account the process runs
    as (from the system's user database, not $LOGNAME or $USER, which anyone can set)."""
    return f"{pwd.getpwuid(os.geteuid()).pw_name}@{socket.gethostname()}"


class PlainTextParam(click.ParamType[str]):
    """A free-text option: one line without control characters, the same rule as every
    metadata field (``plain_text_problem``); refused as a usage error (exit 2)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if (problem := plain_text_problem(text)) is not None:
            self.fail(problem, param, ctx)
        return text


PLAIN_TEXT = PlainTextParam()


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


def run_commands(group: click.Group, argv: list[str] | None, *, prog_name: str) -> int:
    """Run a command line; turn every expected failure into one line on stderr and an exit
    status."""
    try:
        result = group.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as exc:
        click.echo(f"{prog_name}: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(f"{prog_name}: interrupted", err=True)
        return 130
    except SealroomError as exc:
        click.echo(f"{prog_name}: error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: say so in one line, with the detail on request
        if os.environ.get("SEALROOM_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"{prog_name}: internal error: {type(exc).__name__}: {exc} "
            "(set SEALROOM_DEBUG=1 for the traceback)",
            err=True,
        )
        return 70
    return result if isinstance(result, int) else 0
