"""`bash scripts/site`: the whole topology on this machine as a demo; its one-time
administrator password logs in through nginx over TLS, and Ctrl-C stops every process it
started and removes its folder."""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.s3 import _free as port_is_free
from tests.support.site.client import WebUser

pytestmark = pytest.mark.slow


def free_base() -> int:
    """A base port with everything the script derives from it free (P..P+110, +10000)."""
    for _ in range(200):
        base = random.randint(20_000, 40_000)
        wanted = [*range(base, base + 30), *range(base + 100, base + 107)]
        if all(port_is_free(p) for p in [*wanted, *(p + 10_000 for p in wanted)]):
            return base
    raise RuntimeError("no free ports for the site")


def processes_using(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(folder).encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_the_site_script_runs_a_province_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    # Outside pytest's private temporary folders: PostgreSQL runs as its own user in it.
    parent = Path(tempfile.mkdtemp(prefix="sealroom-site-test-"))
    parent.chmod(0o755)
    folder = parent / "site"
    port = free_base()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    env.update(SITE_NO_SETUP="1", SITE_ROOMS="1", SITE_PORT=str(port), SITE_DIR=str(folder))
    log = tmp_path / "site.log"
    with log.open("wb") as out:
        script = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "site")], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 240
        while not (found := re.search(r"one-time password:\s+(\S+)", log.read_text())):
            assert script.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(1)
        admin = WebUser(folder / "ca" / "ca.pem")
        base, one_time = f"https://localhost:{port}", found.group(1)
        landed = admin.log_in(base, "admin", one_time)
        assert landed.endswith("/account/password")  # one-time for real: changed first
        chosen = secrets.token_urlsafe(24)
        status, landed, _ = admin.request(
            f"{base}/account/password",
            {
                "current_password": one_time,
                "new_password": chosen,
                "repeat": chosen,
                "csrf_token": admin.csrf(f"{base}/account/password"),
            },
        )
        assert status == 200 and landed.endswith("/admin/users"), (status, landed)
        _, _, rooms = admin.request(f"https://localhost:{port}/admin/rooms")
        assert f"https://127.0.0.1:{port + 11}" in rooms
        assert len(processes_using(folder)) >= 8  # weed x5, recorder, uploader, consoles, nginx
        script.send_signal(signal.SIGINT)  # Ctrl-C
        script.wait(timeout=120)
    finally:
        if script.poll() is None:
            script.kill()
            script.wait(timeout=30)
        for pid in processes_using(folder):  # never leave one behind, even on failure
            os.kill(pid, signal.SIGKILL)
    assert "site: stopping" in log.read_text()
    assert processes_using(folder) == []
    assert not folder.exists()
    parent.rmdir()
