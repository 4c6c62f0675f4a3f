"""A recorder files its sessions under the unit its room is registered to, never one a
request names (the finding: the recorder accepted any ``unit`` from the token holder), and
refuses metadata with control characters before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_store import FilesystemStore, UsageError
from evidence_store.index import read_manifest
from evidence_store.installation import DataDir
from hardware import HardwareError, SyntheticCamera
from recorder.control import StartRequest
from recorder.errors import RecorderError
from recorder.room import RoomDevices, RoomProfile, synthetic_room
from recorder.service import RoomService, create_app, registered_unit
from recorder.settings import RecorderSettings

ROOM = "Phòng hỏi cung 5"
TOKEN = "unit-rule-token-5f3a9c"  # the test's own service token
SETTINGS = RecorderSettings(
    width=320,
    height=240,
    fps=15,
    segment_seconds=1,
    estimated_video_bitrate=400_000,
    max_session_seconds=600,
    disk_reserve_bytes=1024 * 1024,
)


class NoCameraAtTheStart(SyntheticCamera):
    """Answers the preflight check, then fails: the session is opened with its metadata and
    ended at once, so what it was filed under can be read without recording."""

    def __init__(self, settings: RecorderSettings) -> None:
        super().__init__(settings.width, settings.height, fps=settings.fps)
        self.openings = 0

    def open(self) -> None:
        self.openings += 1
        if self.openings > 1:
            raise HardwareError("the camera was unplugged")
        super().open()


def devices(settings: RecorderSettings) -> RoomDevices:
    room = synthetic_room(settings)
    return RoomDevices(
        cameras=(NoCameraAtTheStart(settings), room.cameras[1]), microphone=room.microphone
    )


def sessions(data: DataDir) -> list[str]:
    found = data.evidence / "sessions"
    return sorted(p.name for p in found.iterdir()) if found.exists() else []


@pytest.fixture
def service(tmp_path: Path) -> RoomService:
    data = DataDir.resolve(tmp_path / "data")
    opened = RoomService(data=data, settings=SETTINGS, room=ROOM, unit="hanoi", devices=devices)
    opened.open()
    yield opened  # type: ignore[misc]
    opened.close("the test is over")


def test_a_session_is_filed_under_the_rooms_unit(service: RoomService) -> None:
    for named in (None, "hanoi"):
        with pytest.raises(RecorderError, match="unplugged"):
            service.start(StartRequest(case_number="VKS-60/2026", unit=named))
    store = FilesystemStore.open(service.data.evidence, create=False)
    units = {read_manifest(store, s).metadata.unit for s in sessions(service.data)}
    assert units == {"hanoi"}
    assert service.status().unit == "hanoi"


def test_another_unit_is_refused_over_the_api_and_nothing_is_written(
    service: RoomService,
) -> None:
    client = create_app(service, TOKEN).test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"case_number": "VKS-61/2026", "unit": "danang"}
    refused = client.post("/sessions", json=body, headers=headers)
    assert refused.status_code == 400
    assert "registered to unit 'hanoi'" in refused.get_json()["error"]["message"]
    bad = client.post("/sessions", json={"case_number": "A\nB"}, headers=headers)
    assert bad.status_code == 400 and "line break" in bad.get_json()["error"]["message"]
    for field, value in (
        ("room", "P\t1"),
        ("accused", ["Án\u2028B"]),
        ("investigators", ["B\x00"]),
        ("others_present", [{"name": "C", "role": "luật\nsư"}]),
    ):
        answer = client.post(
            "/sessions", json={"case_number": "VKS-62/2026", field: value}, headers=headers
        )
        assert answer.status_code == 400, field
    assert sessions(service.data) == []
    assert client.post("/session/stop", json={"reason": "x\ny"}, headers=headers).status_code == 400


def test_the_rooms_profile_and_the_command_line_must_agree(tmp_path: Path) -> None:
    profile = RoomProfile.model_validate(
        {"camera": {"kind": "synthetic"}, "microphone": {"kind": "synthetic"}, "unit": "hanoi"}
    )
    assert registered_unit(ROOM, profile, None) == "hanoi"
    assert registered_unit(ROOM, None, "danang") == "danang"
    with pytest.raises(UsageError, match="registered to unit 'hanoi'"):
        registered_unit(ROOM, profile, "danang")
    unregistered = RoomService(
        data=DataDir.resolve(tmp_path), settings=SETTINGS, room=ROOM, devices=devices
    )
    with pytest.raises(UsageError, match="no registered unit"):
        unregistered.start(StartRequest(case_number="VKS-63/2026", unit="danang"))
