"""The one path that starts a recording (``recorder.start``), shared by ``sealroom record`` and the
room's recorder service: the room's lock, and a recorder that fails to start.

A recorder that fails to start after its checks passed needs a camera that is there for the
check and gone at the start: a USB camera pulled out in between. This machine has no camera
to pull, so that one camera is a synthetic one that fails its second opening; everything else
(store, signatures, custody log, the command line) is real.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from evidence_store import FilesystemStore
from evidence_store.index import read_manifest
from evidence_store.installation import DataDir
from hardware import HardwareError, SyntheticCamera
from recorder.control import StartRequest
from recorder.errors import RecorderError
from recorder.room import RoomBusyError, RoomDevices, RoomLock, synthetic_room
from recorder.service import RoomService
from recorder.settings import RecorderSettings
from sealroom.cli import main
from tests.support.cli import SMALL, run_sealroom

ROOM = "Phòng hỏi cung 3"
SESSION_ID = re.compile(r"s-\d{8}T\d{6}Z-[0-9a-f]{8}")


class UnpluggedAfterTheCheck(SyntheticCamera):
    """A camera that answers the preflight check, then is unplugged before the start."""

    def __init__(self, settings: RecorderSettings) -> None:
        super().__init__(settings.width, settings.height, fps=settings.fps)
        self.openings = 0

    def open(self) -> None:
        self.openings += 1
        if self.openings > 1:
            raise HardwareError("the camera was unplugged")
        super().open()


def room_with_an_unplugged_camera(settings: RecorderSettings) -> RoomDevices:
    room = synthetic_room(settings)
    return RoomDevices(
        cameras=(UnpluggedAfterTheCheck(settings), room.cameras[1]), microphone=room.microphone
    )


def sessions(data_dir: Path) -> list[str]:
    found = data_dir / "evidence" / "sessions"
    return sorted(p.name for p in found.iterdir()) if found.exists() else []


def test_record_whose_recorder_fails_to_start_leaves_no_open_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stricter rule of the two start paths: the service always ended a session whose
    recorder failed to start; ``sealroom record`` left it open. Now both end it."""
    for name in [k for k in os.environ if k.startswith("SEALROOM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr("recorder.start.synthetic_room", room_with_an_unplugged_camera)
    data_dir = tmp_path / "data"
    status = main(
        [
            "record",
            "--synthetic",
            "--room",
            ROOM,
            "--case",
            "VKS-50/2026",
            "--duration",
            "2",
            *SMALL,
            "--data-dir",
            str(data_dir),
        ]
    )

    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert status == 1 and len(lines) == 1, lines
    assert lines[0].startswith("sealroom: error: recording could not start: cannot open ")
    assert "the camera was unplugged" in lines[0] and "was ended and sealed" in lines[0]
    [session_id] = sessions(data_dir)
    assert session_id in lines[0]

    manifest = read_manifest(FilesystemStore.open(data_dir / "evidence", create=False), session_id)
    assert manifest.stop_reason is not None and not manifest.interrupted
    assert manifest.stop_reason.startswith("recording could not start: cannot open ")
    assert "the camera was unplugged" in manifest.stop_reason
    assert manifest.segments == []
    verified = run_sealroom("verify", session_id, data_dir=data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    recovered = run_sealroom("recover", "--json", data_dir=data_dir)
    assert json.loads(recovered.stdout)["recovered"] == []  # nothing was left open
    custody = run_sealroom("custody", "log", "--session", session_id, "--json", data_dir=data_dir)
    entries = json.loads(custody.stdout)
    assert [e["action"] for e in entries][:2] == ["record_started", "alarm"]
    assert entries[1]["detail"] == {"kind": "start_failed", "reason": manifest.stop_reason}
    RoomLock.take(data_dir, ROOM, holder="the test").release()  # the room was given up


def test_the_service_ends_a_session_whose_recorder_fails_to_start(tmp_path: Path) -> None:
    settings = RecorderSettings(
        width=320,
        height=240,
        fps=15,
        segment_seconds=1,
        estimated_video_bitrate=400_000,
        max_session_seconds=600,
        disk_reserve_bytes=1024 * 1024,
    )
    data = DataDir.resolve(tmp_path / "data")
    service = RoomService(
        data=data, settings=settings, room=ROOM, devices=room_with_an_unplugged_camera
    )
    service.open()
    try:
        with pytest.raises(RecorderError, match="the camera was unplugged") as refused:
            service.start(StartRequest(case_number="VKS-51/2026"))
        assert service.status().state == "idle"
    finally:
        service.close("the test is over")
    [session_id] = sessions(data.root)
    assert session_id in str(refused.value)
    manifest = read_manifest(FilesystemStore.open(data.evidence, create=False), session_id)
    assert manifest.stop_reason is not None and not manifest.interrupted
    assert manifest.stop_reason.startswith("recording could not start: cannot open ")
    assert str(refused.value).startswith(manifest.stop_reason)


def test_a_room_is_held_by_one_process_at_a_time(tmp_path: Path) -> None:
    held = RoomLock.take(tmp_path, ROOM, holder="sealroom record")
    # flock conflicts between two openings of the file, even in one process: as another
    # process would, the second taker is refused, and told who holds the room.
    with pytest.raises(RoomBusyError) as busy:
        RoomLock.take(tmp_path, ROOM, holder="the recorder service")
    assert str(busy.value) == (
        f"room {ROOM} is held by sealroom record (pid {os.getpid()}): "
        "a room is recorded by one process at a time"
    )
    assert busy.value.exit_code == 2
    other = RoomLock.take(tmp_path, "Phòng hỏi cung 4", holder="sealroom record")  # per room
    other.release()
    held.release()
    held.release()  # idempotent
    again = RoomLock.take(tmp_path, ROOM, holder="the recorder service")
    assert "the recorder service" in again.path.read_text()
    again.release()


def test_a_room_name_cannot_escape_the_lock_directory(tmp_path: Path) -> None:
    lock = RoomLock.take(tmp_path, "../../etc/room", holder="sealroom record")
    try:
        assert lock.path.parent == tmp_path / "recorder"
        assert lock.path.name == "..%2F..%2Fetc%2Froom.lock"
    finally:
        lock.release()
