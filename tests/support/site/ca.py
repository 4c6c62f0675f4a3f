"""The installation's CA for the tests, and room appliances' recorder services over TLS."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence_store.installation import InstallationCA, Issued

SMALL_PICTURE = "[recorder]\nwidth = 320\nheight = 240\nfps = 15\nsegment_seconds = 1\n"


@pytest.fixture(scope="session")
def installation_ca(tmp_path_factory: pytest.TempPathFactory) -> InstallationCA:
    """One CA for the whole test run (its key stays in the run's temporary folder)."""
    authority = InstallationCA(tmp_path_factory.mktemp("ca") / "ca")
    authority.create("sealroom-test")
    return authority


def room_certificate(authority: InstallationCA, room: str, folder: Path) -> Issued:
    """Room ``room``'s recorder certificate, for 127.0.0.1 and localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    return authority.issue_room(room, ["127.0.0.1", "localhost"], folder / f"room-{room}")


@dataclass
class RecorderService:
    """A room appliance's ``sealroom recorder serve`` in a process of its own."""

    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    log: Path

    def stop(self) -> None:
        """SIGTERM (it seals what it records), then SIGKILL to its group if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_recorder(
    folder: Path,
    room: str,
    token: str,
    *,
    tls: Issued | None,
    data_dir: Path | None = None,
    extra_config: str = "",
    env: dict[str, str] | None = None,
    picture: str = SMALL_PICTURE,
    unit: str = "hanoi",
) -> RecorderService:
    """Room ``room``'s recorder service on a free 127.0.0.1 port (TLS with ``tls``), with
    its own token file, recording the synthetic room (``picture``: the [recorder] section,
    small by default), registered to ``unit`` (the tests' consoles keep their rooms in
    hanoi)."""
    folder.mkdir(parents=True, exist_ok=True)
    token_file = folder / "recorder-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    service = f'[recorder.service]\ntoken_file = "{token_file}"\n'
    if tls is not None:
        service += f'tls_certificate_file = "{tls.certificate}"\ntls_key_file = "{tls.key}"\n'
    config = folder / "sealroom.toml"
    config.write_text(picture + service + extra_config)
    data = data_dir or folder / "data"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    log = folder / "recorder.log"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "sealroom", "--config", str(config),
            "recorder", "serve", "--room", room, "--synthetic", "--unit", unit,
            "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data),
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        text=True,
        env={**clean, **(env or {})},
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once it listens
    found = re.search(r"listening on (https?://\S+)", line)
    if found is None:
        process.kill()
        process.wait(timeout=10)
        raise AssertionError(f"the recorder did not start: {line}{log.read_text()}")
    return RecorderService(process, found.group(1), data, log)
