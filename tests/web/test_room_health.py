"""The rooms' health for the NOC view: every room of the user's units, asked of its real
recorder service; a room whose recorder does not answer is unreachable, never idle."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.console import Console, build_console
from tests.support.recorder_service import Service, serve, wait_for
from web.extensions import db
from web.models import Room, Unit, User
from web.recorders import room_token
from web.room_health import RoomHealth, rooms_health
from web.settings import ConsoleSettings

pytestmark = pytest.mark.slow


KEY = secrets.token_urlsafe(48).encode()  # the installation's room key: one token per room


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Service]:
    service = serve(tmp_path, tmp_path / "room-data", token=room_token(KEY, "room1"))
    yield service
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGTERM)
        service.process.wait(timeout=60)


@pytest.fixture
def console(tmp_path: Path, recorder: Service) -> Console:
    key_file = tmp_path / "room-key"
    key_file.write_bytes(KEY)
    console = build_console(
        tmp_path / "console",
        recorder_url=recorder.url,
        settings=ConsoleSettings(room_key_file=key_file),
    )
    with console.app.app_context():
        units = {u.code: u for u in db.session.scalars(select(Unit))}
        for code, unit, url in (
            ("room2-down", "hanoi-bd", "http://127.0.0.1:9"),  # nobody listens there
            ("room3-danang", "danang", recorder.url),  # another unit's room
        ):
            db.session.add(Room(code=code, name=code, unit=units[unit], recorder_url=url))
        db.session.commit()
    return console


def health_for(console: Console, username: str) -> dict[str, RoomHealth]:
    with console.app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return {room.code: room for room in rooms_health(user, timeout=5.0)}


def test_a_supervisor_sees_every_room_of_their_units_with_its_health(
    console: Console, recorder: Service
) -> None:
    idle = health_for(console, "supervisor")
    assert sorted(idle) == ["room1", "room2-down"]  # danang is sideways: not theirs
    assert idle["room1"].reachable and idle["room1"].state == "idle"
    assert idle["room1"].disk_free_bytes and idle["room1"].disk_total_bytes
    down = idle["room2-down"]
    assert not down.reachable and down.state == "unreachable" and down.needs_attention
    assert "cannot be reached" in str(down.problem)

    started = recorder.client().start(case_number="VKS-60/2026")  # its registered unit
    wait_for(recorder, "segments_sealed")
    room = health_for(console, "supervisor")["room1"]
    assert room.state == "recording" and room.session_id == started.session_id
    assert room.case_number == "VKS-60/2026" and room.segments_sealed >= 1
    assert room.last_seal_age_seconds is not None and room.last_seal_age_seconds >= 0
    assert {d.kind for d in room.devices} == {"camera", "microphone"}
    assert all(d.up for d in room.devices)
    microphone = next(d for d in room.devices if d.kind == "microphone")
    assert microphone.audio_level_dbfs is not None and microphone.audio_level_dbfs < 0
    assert room.backlog_objects is not None  # the spool's backlog, from the room itself
    document = room.as_dict()
    assert document["needs_attention"] is False and document["devices"][0]["up"] is True
    recorder.client().stop("Kết thúc")
    assert health_for(console, "supervisor")["room1"].last_session_id == started.session_id


def test_an_administrator_sees_the_rooms_and_an_investigator_is_refused(
    console: Console,
) -> None:
    assert sorted(health_for(console, "admin")) == ["room1", "room2-down"]
    with pytest.raises(PermissionError):
        health_for(console, "investigator")
