"""The off-box witness for the tests: a real ``sealroom witness serve`` process on loopback
(SQLite or the test PostgreSQL), that a test can kill and start again, and the submissions an
appliance would send."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evidence_store import DeviceSigner, SignedHead
from evidence_store.witnessing import device_identity


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WitnessProcess:
    """``sealroom witness serve`` on a fixed loopback port, so it comes back at the same URL."""

    data_dir: Path
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log: Path | None = None
    metrics_port: int | None = None  # --metrics-port, when set

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "witness.pem"

    def start(self, timeout: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
        if self.database_url:
            env["SEALROOM_DATABASE_URL"] = self.database_url
        self.log = self.data_dir.parent / f"witness-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sealroom", "witness", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(self.data_dir),
             *(["--metrics-port", str(self.metrics_port)] if self.metrics_port else [])],
            stdout=subprocess.PIPE, stderr=handle, text=True, env=env,
        )  # fmt: skip
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.process.stdout.readline()  # the one line it prints when ready
        assert line.strip() == f"witness listening on {self.url}", (line, self.log.read_text())
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/sth", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the witness did not answer: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no goodbye, as a crash or a pulled cable."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def log_text(self) -> str:
        return self.log.read_text() if self.log is not None and self.log.exists() else ""


@pytest.fixture
def witness_process(tmp_path: Path) -> Iterator[WitnessProcess]:
    """A running witness with SQLite in its data directory."""
    witness = WitnessProcess(tmp_path / "witness-data")
    witness.start()
    try:
        yield witness
    finally:
        witness.stop()


def submission(head: SignedHead, signer: DeviceSigner, name: str = "phong-1") -> dict[str, Any]:
    """What an appliance POSTs to /submit for ``head``."""
    return {
        "session": head.session_id,
        "kind": head.kind,
        "data": base64.b64encode(head.data).decode(),
        "signature": base64.b64encode(head.signature).decode(),
        "device": device_identity(signer, name),
    }


def appliance_env(witness: WitnessProcess, **extra: str) -> dict[str, str]:
    """The environment of an appliance that sends its heads to ``witness``."""
    return {"SEALROOM_WITNESS_URL": witness.url, **extra}


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str


class InProcessCli:
    """``sealroom ARGS`` run in the test's process (the same ``main`` as the console script,
    without the seconds a fresh interpreter costs), with only the given SEALROOM_* variables."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        from sealroom.cli import main

        for name in [k for k in os.environ if k.startswith("SEALROOM_")]:
            self.monkeypatch.delenv(name)
        for name, value in (env or {}).items():
            self.monkeypatch.setenv(name, value)
        self.capsys.readouterr()
        code = main(list(args))
        out, err = self.capsys.readouterr()
        return Ran(code, out, err)


@pytest.fixture
def sealroom_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessCli:
    return InProcessCli(monkeypatch, capsys)
