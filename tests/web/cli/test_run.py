"""`sealroom run`: everything on one machine, with a one-time administrator password; its
recorder service gets the shell's configuration and stops with it."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from evidence_store.cli import SETTINGS_KEY as EVIDENCE_SETTINGS
from recorder.cli import ROOMS_KEY
from recorder.cli import SETTINGS_KEY as RECORDER_SETTINGS
from recorder.cli.__main__ import read_sections
from sealroom.config import load_config
from tests.support.browser import free_port, wait_for
from web.cli.demo_room import recorder_sections
from web.recorders import room_token
from web.settings import SETTINGS_KEY as CONSOLE_SETTINGS

pytestmark = pytest.mark.slow


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies to http://127.0.0.1, as browsers do for loopback addresses."""

    def return_ok_secure(
        self, cookie: http.cookiejar.Cookie, request: urllib.request.Request
    ) -> bool:
        return cookie.secure is False or request.host.startswith("127.0.0.1")


def test_run_prints_a_one_time_password_that_logs_in(tmp_path: Path) -> None:
    port, recorder_port = free_port(), free_port()
    process, log = start_run(tmp_path, port, recorder_port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/login")
        match = None
        for _ in range(50):
            match = re.search(r"one-time password \(shown only now\): (\S+)", log.read_text())
            if match:
                break
            time.sleep(0.1)
        assert match, log.read_text()
        jar = http.cookiejar.CookieJar(LoopbackIsSecure())
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token
        form = urllib.parse.urlencode(
            {"username": "admin", "password": match.group(1), "csrf_token": token.group(1)}
        ).encode()
        landing = opener.open(f"{base}/login", data=form)
        # One-time indeed: the first thing it opens is the page to choose a password.
        assert landing.url.endswith("/account/password")
        page = landing.read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token
        chosen = "ngõ nhỏ phố nhỏ 2026"
        form = urllib.parse.urlencode(
            {
                "current_password": match.group(1),
                "new_password": chosen,
                "repeat": chosen,
                "csrf_token": token.group(1),
            }
        ).encode()
        assert opener.open(f"{base}/account/password", data=form).url.endswith("/admin/users")
        rooms = opener.open(f"{base}/admin/rooms").read().decode()
        assert f"http://127.0.0.1:{recorder_port}" in rooms
        wait_for(
            f"http://127.0.0.1:{recorder_port}/status",
            timeout=30,
            headers={"Authorization": f"Bearer {demo_token(tmp_path / 'data')}"},
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert log.read_text().count("one-time password") == 1


def demo_token(data: Path) -> str:
    """The demo room's own token, derived from the room key `run` generated."""
    return room_token((data / "room-key").read_bytes().strip(), "demo")


def start_run(
    tmp_path: Path, port: int, recorder_port: int, *extra: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """`sealroom [EXTRA] run` in a fresh process; its output goes to the returned log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    log = tmp_path / "run.log"
    command = [sys.executable, "-m", "sealroom", *extra, "run", "--port", str(port)]
    command += ["--recorder-port", str(recorder_port), "--data-dir", str(tmp_path / "data")]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, log


def recorder_pid(log: Path) -> int:
    """The recorder service's pid, as `sealroom run` prints it when it starts the service."""
    for _ in range(300):
        match = re.search(r"recorder service for room demo: pid (\d+)", log.read_text())
        if match:
            return int(match.group(1))
        time.sleep(0.1)
    raise AssertionError(log.read_text())


def recorder_alive(pid: int) -> bool:
    """Whether ``pid`` is still a live recorder service (not gone, not a zombie, not a new
    process that took the number)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return b"recorder" in cmdline and b"serve" in cmdline and state != "Z"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_run_stops_the_recorder_service_it_started(
    tmp_path: Path, stop: signal.Signals
) -> None:
    port, recorder_port = free_port(), free_port()
    process, log = start_run(tmp_path, port, recorder_port)
    pid = 0
    try:
        pid = recorder_pid(log)
        token = demo_token(tmp_path / "data")
        wait_for(f"http://127.0.0.1:{port}/login")
        wait_for(
            f"http://127.0.0.1:{recorder_port}/status",
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert recorder_alive(pid)
        process.send_signal(stop)
        assert process.wait(timeout=60) == 0, log.read_text()
        assert not recorder_alive(pid), log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        if pid and recorder_alive(pid):  # never leave it behind, even when the test fails
            os.kill(pid, signal.SIGKILL)


def test_run_hands_the_recorder_service_the_configuration_it_loaded(tmp_path: Path) -> None:
    """`sealroom --config FILE run`: the recorder reads its token from the file that the
    configuration names, not from the token `run` generates, so FILE reached it."""
    configured = tmp_path / "configured-token"
    configured.write_text("t" * 40)
    config = tmp_path / "sealroom.toml"
    config.write_text(f'[recorder.service]\ntoken_file = "{configured}"\n')
    port, recorder_port = free_port(), free_port()
    process, log = start_run(tmp_path, port, recorder_port, "--config", str(config))
    try:
        recorder_pid(log)
        wait_for(
            f"http://127.0.0.1:{recorder_port}/status",
            timeout=60,
            headers={"Authorization": "Bearer " + "t" * 40},
        )
        generated = demo_token(tmp_path / "data")
        refused = urllib.request.Request(
            f"http://127.0.0.1:{recorder_port}/status",
            headers={"Authorization": f"Bearer {generated}"},
        )
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(refused, timeout=10)
        assert answer.value.code == 401
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_the_recorder_gets_every_section_but_the_consoles(tmp_path: Path) -> None:
    config = tmp_path / "sealroom.toml"
    config.write_text(
        '[evidence.signing]\ndevice_name = "phong-1"\n'
        "[recorder]\nfps = 15\n"
        '[console]\ndatabase_url = "postgresql://console:pw-9f3c@db/console"\n'
    )
    loaded = load_config(config)
    meta = {
        EVIDENCE_SETTINGS: loaded.evidence,
        RECORDER_SETTINGS: loaded.recorder,
        ROOMS_KEY: loaded.rooms,
        CONSOLE_SETTINGS: loaded.console,
    }
    handed = recorder_sections(meta)
    assert "pw-9f3c" not in handed
    assert read_sections(handed) == {
        EVIDENCE_SETTINGS: loaded.evidence,
        RECORDER_SETTINGS: loaded.recorder,
        ROOMS_KEY: loaded.rooms,
    }
    assert json.loads(handed)[RECORDER_SETTINGS]["fps"] == 15
