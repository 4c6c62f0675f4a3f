"""The sealroom command line, run as a user runs it: in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SMALL = ["--size", "320x240", "--fps", "15", "--segment-seconds", "1"]


def run_sealroom(
    *args: str, data_dir: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``sealroom ARGS`` as a user would, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    command = [sys.executable, "-m", "sealroom", *args]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@dataclass(frozen=True)
class RecordedSession:
    data_dir: Path
    session_id: str
    path: Path


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def sealroom_here(*args: str, stdin: str = "") -> Ran:
    """Run ``sealroom ARGS`` in this process (the same command line, errors and exit
    statuses, without starting an interpreter): for tests that run many short commands."""
    from click.testing import CliRunner

    from sealroom.cli import main

    with CliRunner().isolation(input=stdin) as (out, err, _mixed):
        code = main(list(args))
        return Ran(code, out.getvalue().decode(), err.getvalue().decode())
