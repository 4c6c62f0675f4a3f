"""The rooms' health for the NOC view: every room of the user's units, asked of its real
recorder service; a room whose recorder does not answer is unreachable, never idle."""

from __future__ import annotations

import io
import secrets
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from recorder.control import RecorderStatusView
from tests.support.console import Console, build_console, login
from tests.support.recorder_service import Service, serve, wait_for
from web.audit import custody_log
from web.extensions import db
from web.models import Room, Unit, User
from web.recorders import room_token
from web.room_health import (
    BACKLOG_ATTENTION_SECONDS,
    RoomHealth,
    _from_status,
    _Room,
    rooms_health,
)
from web.settings import ConsoleSettings
from web.wall.attention import OPEN_ALARM, reasons, shown_figures
from web.wall.thumbnails import WIDTH, ThumbnailCache, scaled
from web.wall.views import CACHE_KEY

pytestmark = pytest.mark.slow


KEY = secrets.token_urlsafe(48).encode()  # the installation's room key: one token per room


# One room and one console for the module (each test leaves the room idle): a recorder
# service takes seconds to start on a loaded machine.
@pytest.fixture(scope="module")
def room_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rooms")


@pytest.fixture(scope="module")
def recorder(room_dir: Path) -> Iterator[Service]:
    service = serve(room_dir, room_dir / "room-data", token=room_token(KEY, "room1"))
    yield service
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGTERM)
        service.process.wait(timeout=60)


@pytest.fixture(scope="module")
def console(room_dir: Path, recorder: Service) -> Console:
    key_file = room_dir / "room-key"
    key_file.write_bytes(KEY)
    console = build_console(
        room_dir / "console",
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


def wall(client: FlaskClient) -> dict[str, dict[str, Any]]:
    """The wall's rooms as its page's refresh reads them."""
    return {r["code"]: r for r in client.get("/rooms/wall/health").get_json()["rooms"]}


def test_the_wall_of_rooms_shows_each_role_what_it_may_see(
    console: Console, recorder: Service
) -> None:
    clients = {}
    for username in ("supervisor", "admin", "investigator"):
        clients[username] = console.app.test_client()
        login(clients[username], username)
    started = recorder.client().start(case_number="VKS-61/2026")
    wait_for(recorder, "segments_sealed")

    page = clients["supervisor"].get("/rooms/wall/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "VKS-61/2026" in text and "đang ghi" in text  # Vietnamese by default
    assert "room2-down" in text and "không phản hồi" in text  # unreachable, never idle
    assert "room3-danang" not in text  # another unit's room
    rooms = wall(clients["supervisor"])
    assert sorted(rooms) == ["room1", "room2-down"]
    assert rooms["room1"]["state"] == "recording"
    assert rooms["room1"]["session_id"] == started.session_id
    assert rooms["room2-down"]["needs_attention"] is True
    levels = [d["audio_level_dbfs"] for d in rooms["room1"]["devices"] if d["kind"] == "microphone"]
    assert levels and levels[0] is not None

    # The administrator looks after the rooms, never the evidence in them.
    admin_page = clients["admin"].get("/rooms/wall/").get_data(as_text=True)
    assert "đang ghi" in admin_page and "VKS-61/2026" not in admin_page
    seen = wall(clients["admin"])
    assert seen["room1"]["state"] == "recording" and seen["room1"]["case_number"] is None
    assert seen["room1"]["session_id"] is None and seen["room1"]["last_session_id"] is None
    assert all(d["audio_level_dbfs"] is None for d in seen["room1"]["devices"])
    assert all(d["up"] for d in seen["room1"]["devices"])

    for url in ("/rooms/wall/", "/rooms/wall/health"):
        assert clients["investigator"].get(url).status_code == 403
    with console.app.app_context():
        views = list(custody_log().entries(action="rooms_wall_viewed"))
    assert sorted(e.actor for e in views) == ["admin", "supervisor"]  # pages, not refreshes

    # A supervisor's wall: a live picture per room and the sound level as a bar.
    assert 'class="picture"' in text and '<meter class="level"' in text
    assert 'class="picture"' not in admin_page and "<meter" not in admin_page
    check_live_pictures(console, clients, started.session_id)
    recorder.client().stop("Kết thúc")


def check_live_pictures(
    console: Console, clients: dict[str, FlaskClient], session_id: str | None
) -> None:
    supervisor = clients["supervisor"]
    picture = supervisor.get("/rooms/wall/room1/preview.jpg")
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(picture.data)) as opened:
        assert opened.format == "JPEG" and 0 < opened.width <= WIDTH
    down = supervisor.get("/rooms/wall/room2-down/preview.jpg")
    assert down.status_code == 503  # a placeholder's reason, in the console's language
    assert down.get_data(as_text=True) == "Không có hình: máy ghi của phòng không phản hồi."
    assert supervisor.get("/rooms/wall/room3-danang/preview.jpg").status_code == 403
    assert supervisor.get("/rooms/wall/no-such-room/preview.jpg").status_code == 404
    for role in ("admin", "investigator"):  # administrators see no evidence
        assert clients[role].get("/rooms/wall/room1/preview.jpg").status_code == 403

    # However many supervisors watch, the recorder is asked once per period.
    cache = ThumbnailCache(max_age=3600)
    console.app.extensions[CACHE_KEY] = cache
    second = console.app.test_client()
    login(second, "supervisor")
    viewers = [supervisor, second] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(
            pool.map(lambda c: c.get("/rooms/wall/room1/preview.jpg").status_code, viewers)
        )
    assert codes == [200] * len(viewers) and cache.fetches == 1
    with console.app.app_context():
        seen = list(custody_log().entries(action="room_live_viewed"))
    # Once per viewer's login and recording, not per picture: two logins, two events.
    assert len(seen) == 2 and {e.actor for e in seen} == {"supervisor"}
    assert {e.session_id for e in seen} == {session_id}
    assert all(e.detail["room"] == "room1" for e in seen)


def test_a_thumbnail_is_scaled_down_to_a_tiles_width() -> None:
    out = io.BytesIO()
    Image.new("RGB", (1280, 720), (200, 30, 30)).save(out, format="JPEG")
    with Image.open(io.BytesIO(scaled(out.getvalue()))) as small:
        assert small.format == "JPEG" and small.size == (WIDTH, 180)


def status_of(**fields: Any) -> RoomHealth:
    """A room's health as read from its recorder's status (the wire model, as the client
    parses it)."""
    view = RecorderStatusView.model_validate({"room": "Phòng 1", "state": "recording", **fields})
    return _from_status(_Room("room1", "Phòng 1", "hanoi"), view)


def test_a_room_needs_attention_for_each_reason_and_the_wall_says_which(
    console: Console,
) -> None:
    backlog = {"objects": 40, "bytes": 2_500_000, "upload_configured": True}
    camera = {"name": "cam0", "kind": "camera", "frames_received": 1, "frames_dropped": 0}
    device = {**camera, "last_frame_age_seconds": None, "audio_level_dbfs": None, "error": None}
    assert status_of(backlog={**backlog, "oldest_age_seconds": 5.0}).attention == ()
    waiting = {**backlog, "oldest_age_seconds": BACKLOG_ATTENTION_SECONDS + 1}
    assert status_of(backlog=waiting).attention == ("upload_backlog",)
    assert status_of(backlog={**backlog, "held": {"s-1": "why"}}).attention == ("upload_backlog",)
    # No upload destination at all: nothing will leave, and the wall says that instead.
    alone = status_of(backlog={**waiting, "upload_configured": False})
    assert alone.attention == () and alone.upload_configured is False
    lost = status_of(devices=[{**device, "lost": True}], alarm="camera lost")
    assert lost.attention == ("alarm", "device_lost") and lost.needs_attention

    with console.app.test_request_context():
        assert reasons(lost, lost.attention) == [
            "cảnh báo từ phòng: camera lost",
            "mất thiết bị: cam0",
        ]
        stuck = status_of(backlog=waiting)
        assert reasons(stuck, (*stuck.attention, OPEN_ALARM)) == [
            "bản ghi không được tải lên khỏi phòng (hàng chờ tải lên ứ đọng)",
            "có cảnh báo toàn vẹn đang mở về một phiên ghi của phòng này",
        ]
        figures = shown_figures(stuck)
        assert figures["backlog_shown"] == "40 (2,5 MB)"  # the Vietnamese decimal comma
        nothing_leaves = shown_figures(alone)
        assert nothing_leaves["backlog_shown"] == "Chưa cấu hình nơi tải lên"
        assert nothing_leaves["backlog_title"] == (
            "Chưa cấu hình nơi tải lên: bản ghi chỉ được lưu trên máy này."
        )
