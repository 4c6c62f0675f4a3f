"""`sealroom run`: everything on one machine, with a one-time administrator password."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.test_web_browser import free_port, wait_for

pytestmark = pytest.mark.slow


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies to http://127.0.0.1, as browsers do for loopback addresses."""

    def return_ok_secure(
        self, cookie: http.cookiejar.Cookie, request: urllib.request.Request
    ) -> bool:
        return cookie.secure is False or request.host.startswith("127.0.0.1")


def test_run_prints_a_one_time_password_that_logs_in(tmp_path: Path) -> None:
    port, recorder_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sealroom",
                "run",
                "--port",
                str(port),
                "--recorder-port",
                str(recorder_port),
                "--data-dir",
                str(tmp_path / "data"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
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
        assert landing.url.endswith("/admin/users")
        rooms = opener.open(f"{base}/admin/rooms").read().decode()
        assert f"http://127.0.0.1:{recorder_port}" in rooms
        wait_for(
            f"http://127.0.0.1:{recorder_port}/status",
            timeout=30,
            headers={
                "Authorization": "Bearer "
                + (tmp_path / "data" / "recorder-token").read_text().strip()
            },
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert log.read_text().count("one-time password") == 1
