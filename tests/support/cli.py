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
