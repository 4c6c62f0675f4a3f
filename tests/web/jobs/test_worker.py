"""Jobs in the shared database: a job is held by one runner at a time under a lease, taken
again when its runner dies, given up after its attempts; and an export asked for on one
console process is built by `sealroom worker` after that console is killed, and downloaded
from another console process on the same database."""

from __future__ import annotations

import hashlib
import http.cookiejar
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from evidence_store.installation import DataDir
from evidence_store.settings import EvidenceSettings
from tests.support.browser import free_port, wait_for
from tests.support.cli import SMALL, run_sealroom
from tests.support.console import PASSWORD, build_console
from web.app import create_app
from web.auth import create_unit, create_user
from web.extensions import db
from web.jobs import FAILED, MAX_ATTEMPTS, RUNNING, JobsCollector, enqueue, give_up_expired
from web.jobs.queue import claim, finish, renew, utcnow
from web.models import Job
from web.settings import ConsoleSettings


def test_a_job_is_held_by_one_runner_and_taken_again_when_its_lease_runs_out(
    tmp_path: Path,
) -> None:
    console = build_console(tmp_path)
    with console.app.app_context():
        job_id = enqueue("export", "41", {"username": "u", "role": "prosecutor"}).id
        first = claim("runner-a", ["export"])
        assert first is not None and (first.id, first.attempts) == (job_id, 1)
        assert claim("runner-b", ["export"]) is None  # held: nobody else gets it
        assert renew(job_id, "runner-a", stage="copying", done=5, total=10)
        assert not renew(job_id, "runner-b")  # not b's to renew
        for attempt in range(2, MAX_ATTEMPTS + 1):
            held = db.session.get(Job, job_id)
            assert held is not None
            held.lease_until = utcnow() - timedelta(seconds=1)  # its runner died
            db.session.commit()
            again = claim(f"runner-{attempt}", ["export"])
            assert again is not None and (again.id, again.attempts) == (job_id, attempt)
        held = db.session.get(Job, job_id)
        assert held is not None
        held.lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert claim("runner-z", ["export"]) is None  # every attempt is spent
        [spent] = give_up_expired("export")
        assert (spent.id, spent.state) == (job_id, FAILED)
        other = enqueue("export", "42", {}).id
        taken = claim("runner-a", ["export"])
        assert taken is not None and taken.id == other and taken.state == RUNNING
        finish(other, "runner-a", "done")
        assert db.session.get(Job, other).state == "done"  # type: ignore[union-attr]


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    def return_ok_secure(
        self, cookie: http.cookiejar.Cookie, request: urllib.request.Request
    ) -> bool:
        return cookie.secure is False or request.host.startswith("127.0.0.1")


def signed_in(base: str, username: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(LoopbackIsSecure()))
    )
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    opener.open(f"{base}/login", data=urllib.parse.urlencode(form).encode())
    return opener


def sealroom_process(config: Path, data: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    return subprocess.Popen(
        [sys.executable, "-m", "sealroom", "--config", str(config), *args, "--data-dir", str(data)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_an_export_asked_for_on_a_killed_console_is_built_by_the_worker_and_downloaded_elsewhere(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "sealroom.toml"
    config.write_text(
        "[console]\nrun_jobs = false\nexports_need_approval = false\nsecure_cookies = false\n"
    )
    recorded = run_sealroom(
        "record", "--synthetic", "--room", "P1", "--case", "VKS-W/2026", "--unit", "hanoi",
        "--duration", "3", *SMALL, "--json", data_dir=data,
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    session_id = json.loads(recorded.stdout)["session_id"]
    # An approved account with its own password, as two administrators would leave it.
    app = create_app(DataDir.resolve(data, EvidenceSettings()), ConsoleSettings(run_jobs=False))
    with app.app_context():
        create_unit("hanoi", parent="supreme")
        create_user("kiemsat", role="prosecutor", unit="hanoi", password=PASSWORD)
        db.engine.dispose()

    port_a, port_b = free_port(), free_port()
    console_a = sealroom_process(
        config, data, "console", "--port", str(port_a), log=tmp_path / "a.log"
    )
    try:
        wait_for(f"http://127.0.0.1:{port_a}/login", timeout=60)
        opener = signed_in(f"http://127.0.0.1:{port_a}", "kiemsat")
        listing = opener.open(f"http://127.0.0.1:{port_a}/exports/").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', listing)
        assert token
        form = {"session_id": session_id, "reason": "hồ sơ tòa", "csrf_token": token.group(1)}
        opener.open(
            f"http://127.0.0.1:{port_a}/exports/", data=urllib.parse.urlencode(form).encode()
        )
    finally:
        console_a.send_signal(signal.SIGKILL)  # the replica that was asked dies
        console_a.wait(timeout=30)

    metrics_port = free_port()
    worker = sealroom_process(
        config, data, "worker", "--metrics-port", str(metrics_port), log=tmp_path / "worker.log"
    )
    console_b = sealroom_process(
        config, data, "console", "--port", str(port_b), log=tmp_path / "b.log"
    )
    try:
        base = f"http://127.0.0.1:{port_b}"
        wait_for(f"{base}/login", timeout=60)
        opener = signed_in(base, "kiemsat")
        deadline = time.monotonic() + 180
        while True:
            progress = json.loads(opener.open(f"{base}/exports/1/progress").read())
            if progress["status"] in ("built", "failed"):
                break
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
        assert progress["status"] == "built", (tmp_path / "worker.log").read_text()[-3000:]
        package = opener.open(f"{base}/exports/1/download").read()
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            names = archive.namelist()
        assert any(name.endswith("/verify.py") for name in names)
        assert any(f"sessions/{session_id}/manifest.json" in name for name in names)
        with sqlite3.connect(data / "console.db") as console_db:
            [(recorded_digest,)] = console_db.execute(
                "SELECT package_sha256 FROM export_requests WHERE id = 1"
            ).fetchall()
        assert hashlib.sha256(package).hexdigest() == recorded_digest
        # The worker's metrics, on loopback: the build it ran, and no queue waiting.
        wait_for(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30)
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read()
        assert b'sealroom_jobs{kind="export",state="done"} 1.0' in scraped
        assert b'sealroom_jobs{kind="export",state="queued"} 0.0' in scraped
    finally:
        for process in (worker, console_b):
            process.terminate()
            process.wait(timeout=30)


def test_the_jobs_metrics_count_each_kind_and_state_and_the_oldest_wait(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    with console.app.app_context():
        for ref in ("1", "2", "3"):
            enqueue("export", ref, {})
        waiting = db.session.get(Job, 1)
        assert waiting is not None
        waiting.created_at = utcnow() - timedelta(minutes=5)  # asked for five minutes ago
        db.session.commit()
        taken = claim("runner-a", ["export"])
        assert taken is not None
        finish(taken.id, "runner-a", "failed", "the disk is full")
    registry = CollectorRegistry()
    registry.register(JobsCollector(console.app))
    sample = registry.get_sample_value
    assert sample("sealroom_jobs", {"kind": "export", "state": "queued"}) == 2
    assert sample("sealroom_jobs", {"kind": "export", "state": "failed"}) == 1
    assert sample("sealroom_jobs", {"kind": "export", "state": "running"}) == 0
    age = sample("sealroom_jobs_oldest_queued_age_seconds", {"kind": "export"})
    assert age is not None and 0 <= age < 60  # job 1 failed: job 2 waits, just asked for
