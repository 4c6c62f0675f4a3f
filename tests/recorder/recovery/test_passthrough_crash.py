"""``kill -9`` during a passthrough recording loses at most the segment in flight per track,
and recovery seals the rest.

``sealroom record`` records a room profile of two real RTSP cameras (Debian's
gst-rtsp-server) whose sound is the first camera's own; it is killed with SIGKILL while every
track has sealed segments and one in flight. ``sealroom recover`` then chains and salvages
each track's unfinished segment: the session verifies, it is marked interrupted, nothing that
was sealed before the kill changed, and each track's timeline reaches to within one segment
of the kill."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidence_store.model import Manifest
from evidence_store.signing import TrustStore
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from tests.support.cli import run_sealroom
from tests.support.rtsp import RtspServer, free_port, require_gst_rtsp

pytestmark = pytest.mark.slow
ROOM = "Phòng IP kill"
TRACKS = ("cam1", "cam2", "sound")
SEGMENT_SECONDS = 2


def sealed_files(session: Path) -> dict[str, str]:
    """Every stored object (not the store's temporaries, ``.NAME.tmp``, being written)."""
    return {
        str(p.relative_to(session)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in session.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def chained_segments(session: Path, track: str) -> int:
    return (
        sum(1 for _ in (session / "segments" / track).glob("*.mp4"))
        if (session / "segments" / track).is_dir()
        else 0
    )


def test_kill_9_loses_at_most_the_segment_in_flight_per_track(tmp_path: Path) -> None:
    require_gst_rtsp()
    servers = [RtspServer(free_port()), RtspServer(free_port(), audio="none")]
    for server in servers:
        server.start()
    try:
        config = tmp_path / "sealroom.toml"
        config.write_text(
            f"""
[recorder]
segment_seconds = {SEGMENT_SECONDS}

[rooms."{ROOM}"]
camera = {{ kind = "rtsp", url = "{servers[0].url}", name = "cam-A" }}
pip_camera = {{ kind = "rtsp", url = "{servers[1].url}", name = "cam-B" }}
microphone = {{ kind = "rtsp", url = "{servers[0].url}", name = "cam-A sound" }}
""",
            encoding="utf-8",
        )
        data = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
        process = subprocess.Popen(
            [sys.executable, "-m", "sealroom", "--config", str(config), "record", "--room",
             ROOM, "--case", "VKS-KILL/2026", "--duration", "120", "--data-dir", str(data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        sessions = data / "evidence" / "sessions"
        deadline = time.monotonic() + 90
        session: Path | None = None
        while time.monotonic() < deadline:
            found = sorted(sessions.glob("s-*")) if sessions.is_dir() else []
            session = found[0] if found else None
            if session is not None and all(chained_segments(session, t) >= 2 for t in TRACKS):
                break
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.2)
        assert session is not None, "no session appeared"
        time.sleep(SEGMENT_SECONDS / 2)  # mid-segment on every track
        before = sealed_files(session)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        killed_at = time.time()
    finally:
        for server in servers:
            server.stop()

    recovered = run_sealroom("recover", "--json", data_dir=data)
    assert recovered.returncode == 0, recovered.stderr
    store = FilesystemStore.open(data / "evidence", create=False)
    verify_session(store, session.name, TrustStore.from_paths([data / "trust"]))
    manifest = Manifest.parse((session / "manifest.json").read_bytes(), location="manifest")
    assert manifest.interrupted
    after = sealed_files(session)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing sealed changed
    started = time.mktime(time.strptime(manifest.started_at[:19], "%Y-%m-%dT%H:%M:%S"))
    started -= time.timezone  # started_at is UTC
    recorded = killed_at - started
    for track in TRACKS:
        segments = [s for s in manifest.segments if s.track == track]
        end = segments[-1].end_us / 1e6
        # Lost at most the segment in flight (and the moment it took to kill the process).
        assert end >= recorded - 2 * SEGMENT_SECONDS - 1, (track, end, recorded)
    assert "killed, crashed or lost power" in manifest.stop_reason, manifest.stop_reason
