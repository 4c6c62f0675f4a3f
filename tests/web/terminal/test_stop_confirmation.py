"""Stop seals a session for good, so the server itself asks for a confirmation: a stop sent
without one (no script in the page, a stale page, a replayed form) shows the confirmation
page, 400, in the console's language, and the real recording goes on."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator

import pytest

from tests.support.console import Console, build_console, csrf_token, login
from tests.support.recorder_service import Service, serve, wait_for
from web.audit import custody_log
from web.recorders import room_token
from web.settings import ConsoleSettings

pytestmark = pytest.mark.slow

KEY = secrets.token_urlsafe(48).encode()


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, Service]]:
    root = tmp_path_factory.mktemp("stop")
    recorder = serve(root, root / "room-data", token=room_token(KEY, "room1"))
    key_file = root / "room-key"
    key_file.write_bytes(KEY)
    console = build_console(
        root / "console",
        recorder_url=recorder.url,
        settings=ConsoleSettings(room_key_file=key_file),
    )
    yield console, recorder
    if recorder.process.poll() is None:
        recorder.process.send_signal(signal.SIGTERM)
        recorder.process.wait(timeout=60)


def stopped_events(console: Console) -> list[object]:
    with console.app.app_context():
        return list(custody_log().entries(action="session_stopped"))


def test_stop_without_its_confirmation_asks_and_the_recording_goes_on(
    room: tuple[Console, Service],
) -> None:
    console, recorder = room
    started = recorder.client().start(case_number="VKS-70/2026")
    wait_for(recorder, "segments_sealed")
    investigator = console.app.test_client()
    login(investigator, "investigator")
    token = csrf_token(investigator, "/terminal/room1")

    for unconfirmed in ({}, {"confirmed": "0"}, {"confirmed": "yes"}):
        asked = investigator.post(
            "/terminal/room1/stop",
            data={"reason": "Kết thúc", "csrf_token": token, **unconfirmed},
        )
        assert asked.status_code == 400
        page = asked.get_data(as_text=True)
        assert "Kết thúc và niêm phong phiên này?" in page  # Vietnamese by default
        assert 'id="stop-confirm"' in page and 'name="confirmed" value="1"' in page
        assert 'name="reason_other" value="Kết thúc"' in page  # the reason is carried on
        status = recorder.client().status()
        assert status.state == "recording" and status.session_id == started.session_id
    assert stopped_events(console) == []

    investigator.get("/language/en")
    english = investigator.post(
        "/terminal/room1/stop", data={"reason": "Kết thúc", "csrf_token": token}
    )
    assert english.status_code == 400
    assert "Stop and seal this session?" in english.get_data(as_text=True)
    assert recorder.client().status().state == "recording"

    # Pause still needs only its reason, and no confirmation.
    paused = investigator.post(
        "/terminal/room1/pause", data={"reason": "Nghỉ giải lao", "csrf_token": token}
    )
    assert paused.status_code == 302 and recorder.client().status().state == "paused"

    confirmed = investigator.post(
        "/terminal/room1/stop",
        data={"reason_other": "Kết thúc", "confirmed": "1", "csrf_token": token},
    )
    assert confirmed.status_code == 302
    assert f"/seal/{started.session_id}" in confirmed.headers["Location"]
    assert recorder.client().status().state == "idle"
    [event] = stopped_events(console)
    assert event.session_id == started.session_id  # type: ignore[attr-defined]
    assert event.detail["reason"] == "Kết thúc"  # type: ignore[attr-defined]
