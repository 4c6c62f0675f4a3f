"""Trust shown where staff look: the list and the session page carry the last verification's
verdict and time; a failure (verify now, or a player refused a segment) overrides the
"sealed" state and is an alarm the unit's supervisor sees, until the session verifies again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.support.console import Console, build_console, csrf_token, login
from web.audit import custody_log
from web.auth.accounts import create_user
from web.trust import VERIFICATION_FAILED

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    built = build_console(tmp_path_factory.mktemp("trust"))
    with built.app.app_context():
        create_user("supervisor-danang", role="supervisor", unit="danang", password=PASSWORD)
    yield built


def _segment(console: Console) -> Path:
    return console.data.store().path(f"sessions/{console.own_session}/segments/000000.mp4")


def _row_of(page: str, session_id: str) -> str:
    """The list's row of one session."""
    rows = [r for r in re.findall(r"<tr>.*?</tr>", page, flags=re.S) if session_id in r]
    assert len(rows) == 1, page
    return rows[0]


def _client(console: Console, username: str) -> FlaskClient:
    client = console.app.test_client()
    login(client, username)
    return client


def _verify(client: FlaskClient, session_id: str) -> None:
    url = f"/sessions/{session_id}"
    response = client.post(f"{url}/verify", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302


def test_a_session_never_verified_says_so(console: Console) -> None:
    page = _client(console, "prosecutor").get("/sessions/").get_data(as_text=True)
    row = _row_of(page, console.own_session)
    assert "đã niêm phong" in row and "chưa kiểm tra" in row


def test_tampering_found_shows_everywhere_and_alarms_the_supervisor(console: Console) -> None:
    auditor = _client(console, "auditor")
    _verify(auditor, console.own_session)
    row = _row_of(auditor.get("/sessions/").get_data(as_text=True), console.own_session)
    assert "NGUYÊN VẸN" in row and "đã niêm phong" in row

    segment = _segment(console)
    original = segment.read_bytes()
    segment.chmod(0o644)
    segment.write_bytes(b"edited" + original[6:])
    prosecutor = _client(console, "prosecutor")
    played = prosecutor.get(f"/sessions/{console.own_session}/segments/0.mp4")
    assert played.status_code == 409

    # The refusal alone changes what everyone is shown: never "sealed" after it.
    row = _row_of(prosecutor.get("/sessions/").get_data(as_text=True), console.own_session)
    assert "BỊ CAN THIỆP" in row and "bị can thiệp" in row and "đã niêm phong" not in row
    page = prosecutor.get(f"/sessions/{console.own_session}").get_data(as_text=True)
    shown = page.split('id="shown-state"', 1)[1].split("</span>", 1)[0]
    assert "bị can thiệp" in shown
    last = page.split('id="last-verification"', 1)[1].split("</p>", 1)[0]
    assert "BỊ CAN THIỆP" in last and "segments/000000.mp4" in last
    assert "trình phát từ chối một đoạn" in last and "prosecutor" in last
    danang = _client(console, "investigator-danang").get("/sessions/").get_data(as_text=True)
    assert "chưa kiểm tra" in _row_of(danang, console.other_session)  # each has its own

    with console.app.app_context():
        alarms = custody_log().entries(session_id=console.own_session, action="alarm")
    assert [a.detail["kind"] for a in alarms] == [VERIFICATION_FAILED]
    assert "TAMPERED" in alarms[0].detail["reason"]

    supervisor = _client(console, "supervisor")
    listing = supervisor.get("/sessions/").get_data(as_text=True)
    assert "Cảnh báo đang mở trong đơn vị của bạn: 1" in listing
    board = supervisor.get("/alarms/").get_data(as_text=True)
    assert console.own_session in board and "đang mở" in board
    assert "Kiểm tra toàn vẹn không đạt" in board
    # A supervisor of another unit sees none of it; investigators have no alarms page.
    sideways = _client(console, "supervisor-danang")
    assert console.own_session not in sideways.get("/alarms/").get_data(as_text=True)
    assert "Cảnh báo đang mở" not in sideways.get("/sessions/").get_data(as_text=True)
    assert _client(console, "investigator").get("/alarms/").status_code == 403

    # Verify now finds it too (a second alarm), and says what failed in Vietnamese.
    _verify(auditor, console.own_session)
    page = auditor.get(f"/sessions/{console.own_session}").get_data(as_text=True)
    result = page.split('id="verify-result"', 1)[1].split("</p>", 1)[0]
    assert "BỊ CAN THIỆP" in result and "TAMPERED" not in result

    # Put back, verified again: intact, sealed, and the alarm closes.
    segment.write_bytes(original)
    _verify(auditor, console.own_session)
    row = _row_of(supervisor.get("/sessions/").get_data(as_text=True), console.own_session)
    assert "NGUYÊN VẸN" in row and "đã niêm phong" in row
    board = supervisor.get("/alarms/").get_data(as_text=True)
    assert "đang mở</span>" not in board and "đã đóng" in board
    assert "Cảnh báo đang mở" not in supervisor.get("/sessions/").get_data(as_text=True)
