"""A full disk, for real: the data directory on a small tmpfs, filled under a live recorder.

The recorder must stop with a ``stopped`` event whose reason is the full disk, seal the
session (it verifies), raise the alarm, and never change or delete anything already sealed.
Before a session, it refuses to start without the space the session needs, or without its
devices, and writes no session at all.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_store.errors import StoreError
from evidence_store.index.summary import read_links, read_manifest
from evidence_store.model import EventType
from evidence_store.store import FilesystemStore
from recorder.disk_guard import SpaceBudget, disk_full_reason, is_disk_full
from recorder.errors import RecorderError
from recorder.settings import RecorderSettings
from tests.support.cli import run_sealroom

pytestmark = pytest.mark.slow

SMALL = ["--size", "320x240", "--fps", "15"]
# Sized for 320x240: the synthetic picture needs ~200 kbit/s; the estimate errs high.
CONFIG = """
[recorder]
estimated_video_bitrate = 400000
max_session_seconds = 120
disk_reserve_bytes = 1048576
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 24 MiB tmpfs, mounted for the test (root only)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        # The disk-full behaviour must be tested on a real small filesystem: fail, never skip.
        pytest.fail(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sealroom.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def start_recording(
    config: Path, data_dir: Path, *, segment_seconds: int, extra: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    command = [
        sys.executable,
        "-m",
        "sealroom",
        "--config",
        str(config),
        "record",
        "--synthetic",
        "--room",
        "Phòng 3",
        "--case",
        "VKS-DISK/2026",
        "--duration",
        "100",
        *SMALL,
        "--segment-seconds",
        str(segment_seconds),
        "--json",
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def the_session(data_dir: Path) -> Path:
    sessions = list((data_dir / "evidence" / "sessions").iterdir())
    assert len(sessions) == 1
    return sessions[0]


def wait_for_segments(process: subprocess.Popen[str], data_dir: Path, count: int) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        base = data_dir / "evidence" / "sessions"
        sessions = list(base.iterdir()) if base.is_dir() else []
        if sessions and len(list((sessions[0] / "segments").glob("*.mp4"))) >= count:
            return sessions[0]
        time.sleep(0.01)
    process.kill()
    raise AssertionError("the recorder sealed no segment in time")


def fill(path: Path, *, leave: int = 0) -> int:
    """Take the disk's free space, down to ``leave`` bytes; returns the bytes written."""
    stats = os.statvfs(path.parent)
    target = max(0, stats.f_bavail * stats.f_frsize - leave)
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12):
            while written + chunk <= target:
                try:
                    written += os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return written


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_stopped_for_a_full_disk(
    data_dir: Path, session: Path, sealed_before: dict[str, str]
) -> str:
    """The session ends with `stopped: disk full`, verifies, plays, and lost nothing sealed."""
    store = FilesystemStore.open(data_dir / "evidence", create=False)
    links = read_links(store, session.name)
    last = links[-1].event
    assert last is not None and last.type is EventType.STOPPED
    assert last.reason is not None and last.reason.startswith("disk full")
    manifest = read_manifest(store, session.name)
    assert not manifest.interrupted and manifest.stop_reason == last.reason

    verified = run_sealroom("verify", session.name, "--json", data_dir=data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    after = digests(session)
    assert {p: after.get(p) for p in sealed_before} == sealed_before  # unchanged, all there
    for segment in sorted((session / "segments").glob("*.mp4")):
        check = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(segment), "-f", "null", "-"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0 and check.stderr == "", check.stderr
    alarms = run_sealroom("custody", "log", "--action", "alarm", "--json", data_dir=data_dir)
    assert alarms.returncode == 0, alarms.stderr
    [alarm] = json.loads(alarms.stdout)
    assert alarm["session_id"] == session.name and alarm["detail"]["reason"] == last.reason
    return last.reason


def test_the_disk_filling_mid_segment_stops_and_seals_the_session(
    small_disk: Path, config: Path
) -> None:
    data_dir = small_disk / "data"
    # 4 s segments, fragments flushed every second: the disk fills under an open segment.
    process = start_recording(config, data_dir, segment_seconds=4)
    session = wait_for_segments(process, data_dir, 1)
    sealed_before = digests(session)
    filled = fill(small_disk / "someone-elses-file")
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1, stderr
    assert "stopped itself and was sealed: disk full" in stderr
    reason = assert_stopped_for_a_full_disk(data_dir, session, sealed_before)
    assert "No space left on device" in reason  # the write failed: not the guard's check
    assert not (data_dir / ".reserve").exists()  # given up so that the seal fits
    # The open segment was abandoned, not deleted: it stays in flight for inspection.
    inflight = data_dir / "evidence" / ".inflight" / "sessions" / session.name
    assert list(inflight.glob("*.mp4"))
    print(f"\nfilled {filled / 2**20:.1f} MiB under the recorder; it stopped: {reason}")


def test_the_guard_stops_before_the_disk_is_full_and_loses_nothing(
    small_disk: Path, config: Path
) -> None:
    data_dir = small_disk / "data"
    process = start_recording(config, data_dir, segment_seconds=2)
    session = wait_for_segments(process, data_dir, 1)
    sealed_before = digests(session)
    budget = SpaceBudget.from_settings(
        RecorderSettings(
            estimated_video_bitrate=400_000,
            max_session_seconds=120,
            disk_reserve_bytes=1 << 20,
            segment_seconds=2,
        )
    )
    # Room for the segment being written, not for the next one and the seal.
    fill(small_disk / "someone-elses-file", leave=budget.next_segment // 2)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1, stderr
    reason = assert_stopped_for_a_full_disk(data_dir, session, sealed_before)
    assert "free, a segment and the seal need up to" in reason
    # A clean stop at a segment boundary: everything captured was sealed, nothing in flight.
    inflight = data_dir / "evidence" / ".inflight" / "sessions" / session.name
    assert list(inflight.glob("*.mp4")) == []
    print(f"\nthe guard stopped the session: {reason}")


def test_a_session_the_disk_cannot_hold_is_refused_and_nothing_is_written(
    small_disk: Path, tmp_path: Path
) -> None:
    data_dir = small_disk / "data"
    config = tmp_path / "default.toml"
    config.write_text("[recorder]\nmax_session_seconds = 3600\n", encoding="utf-8")
    result = run_sealroom(
        "--config",
        str(config),
        "record",
        "--synthetic",
        "--room",
        "P3",
        "--case",
        "VKS-1/2026",
        "--duration",
        "3600",
        *SMALL,
        data_dir=data_dir,
    )
    assert result.returncode == 1
    assert "not enough disk space to record 60 min" in result.stderr
    assert not (data_dir / "evidence" / "sessions").exists()
    assert not (data_dir / ".reserve").exists()


def test_a_missing_camera_refuses_the_session_and_nothing_is_written(tmp_path: Path) -> None:
    config = tmp_path / "room.toml"
    config.write_text(
        '[rooms."Phòng 9"]\n'
        'camera = { kind = "v4l2", device = "/dev/video-not-there" }\n'
        'microphone = { kind = "synthetic" }\n',
        encoding="utf-8",
    )
    data_dir = tmp_path / "data"
    result = run_sealroom(
        "--config",
        str(config),
        "record",
        "--room",
        "Phòng 9",
        "--case",
        "VKS-2/2026",
        "--duration",
        "5",
        *SMALL,
        data_dir=data_dir,
    )
    assert result.returncode == 1, result.stderr
    assert "missing or unusable" in result.stderr
    assert not (data_dir / "evidence" / "sessions").exists()


def test_the_space_budget_arithmetic() -> None:
    budget = SpaceBudget.from_settings(
        RecorderSettings(
            estimated_video_bitrate=4_000_000,
            audio_bitrate=96_000,
            segment_seconds=2,
            max_session_seconds=3600,
        )
    )
    media = (4_000_000 + 96_000) // 8
    assert budget.bytes_per_second == media + media // 20 + 8192 // 2
    assert budget.seal_bytes == 256 * 1024 + 1800 * 1024  # grows with the session's length
    assert budget.reserve_bytes == 16 * 1024**2
    hour = budget.to_record(3600)
    assert budget.start_refusal(hour + budget.reserve_bytes, 3600, reserve_held=False) is None
    refusal = budget.start_refusal(hour + budget.reserve_bytes - 1, 3600, reserve_held=False)
    assert refusal is not None and refusal.startswith("not enough disk space to record 60 min")
    assert budget.start_refusal(hour, 3600, reserve_held=True) is None
    assert budget.segment_refusal(budget.next_segment) is None
    assert (budget.segment_refusal(budget.next_segment - 1) or "").startswith("disk full: ")


def test_a_full_disk_is_recognised_through_the_errors_that_wrap_it() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise StoreError("cannot write chain/000007.json") from exc
    except StoreError as wrapped:
        assert not is_disk_full(RecorderError("sealing failed"))
        outer = RecorderError("sealing failed")
        outer.__cause__ = wrapped
        assert is_disk_full(outer)
        assert disk_full_reason(outer).startswith("disk full: No space left on device")
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
