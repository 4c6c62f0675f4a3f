"""Shared fixtures: the sealroom command line run as a real subprocess, and a recorded session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def recorded_session(tmp_path_factory: pytest.TempPathFactory) -> RecordedSession:
    """A short synthetic session recorded through the real CLI, shared read-only by tests."""
    data_dir = tmp_path_factory.mktemp("recorded") / "data"
    result = run_sealroom(
        "record",
        "--synthetic",
        "--room",
        "Phòng hỏi cung 1",
        "--case",
        "VKS-123/2026",
        "--accused",
        "Nguyễn Văn Án",
        "--duration",
        "4",
        *SMALL,
        "--json",
        data_dir=data_dir,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    return RecordedSession(data_dir, printed["session_id"], Path(printed["path"]))
