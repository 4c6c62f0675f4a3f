"""One flipped byte of a sealed segment is one open alarm, however often it is found: the
player's prefetch, another viewer's playback and "verify now" each leave their custody event
(a refusal says whether the player loaded ahead or the part was being played, and accuses
nobody), and all add to the one alarm, whose count the banner and /alarms/ agree on. Once
the session verifies again the alarm closes, and a new failure is a new alarm."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.support.console import Console, build_console, csrf_token, login
from web.audit import custody_log

BANNER = "Cảnh báo đang mở trong đơn vị của bạn: "
PREFETCH_VI = "trình phát tải trước, khi chưa ai xem đến đoạn đó"
PLAYBACK_VI = "khi đoạn đó đang được phát"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield build_console(tmp_path_factory.mktemp("one-alarm"))


def _client(console: Console, username: str) -> FlaskClient:
    client = console.app.test_client()
    login(client, username)
    return client


def _segment(console: Console) -> Path:
    return console.data.store().path(f"sessions/{console.own_session}/segments/000000.mp4")


def _flip(path: Path) -> None:
    body = bytearray(path.read_bytes())
    body[len(body) // 2] ^= 0x01  # one bit, same size
    path.chmod(0o644)
    path.write_bytes(bytes(body))


def _fetch(client: FlaskClient, console: Console, why: str) -> None:
    response = client.get(
        f"/sessions/{console.own_session}/segments/0.mp4", headers={"Sealroom-Fetch": why}
    )
    assert response.status_code == 409
    assert response.headers["Sealroom-Verdict"] == "tampered"  # the page's state turns at once


def _verify(client: FlaskClient, session_id: str) -> None:
    url = f"/sessions/{session_id}"
    response = client.post(f"{url}/verify", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302


def _rows(board: str, session_id: str) -> list[str]:
    return [r for r in re.findall(r"<tr class=.*?</tr>", board, flags=re.S) if session_id in r]


def test_one_failed_segment_is_one_alarm_however_often_it_is_found(console: Console) -> None:
    session_id = console.own_session
    segment = _segment(console)
    original = segment.read_bytes()
    _flip(segment)

    # The prosecutor opens the page: the player loads ahead and is refused; nobody played.
    prosecutor = _client(console, "prosecutor")
    _fetch(prosecutor, console, "prefetch")
    # The supervisor plays up to it; the auditor verifies now.
    supervisor = _client(console, "supervisor")
    _fetch(supervisor, console, "playback")
    auditor = _client(console, "auditor")
    _verify(auditor, session_id)

    with console.app.app_context():
        refused = custody_log().entries(session_id=session_id, action="playback_refused")
        raised = custody_log().entries(session_id=session_id, action="alarm")
    # Each refusal is in custody, saying how the segment was asked for.
    assert [(e.actor, e.detail["requested_by"]) for e in refused] == [
        ("prosecutor", "prefetch"),
        ("supervisor", "playback"),
    ]
    assert len(raised) == 1 and raised[0].detail["requested_by"] == "prefetch"

    board = supervisor.get("/alarms/").get_data(as_text=True)
    rows = _rows(board, session_id)
    assert len(rows) == 1 and 'class="alarm-open"' in rows[0]
    assert '<td class="detections">3</td>' in rows[0]
    assert PREFETCH_VI in rows[0]  # found by the player loading ahead, not by a viewer
    assert "tài khoản prosecutor" in rows[0]
    listing = supervisor.get("/sessions/").get_data(as_text=True)
    assert f"{BANNER}1<" in listing
    assert board.count('class="alarm-open"') == 1  # the banner's 1 is the page's one row

    # Put back and verified: the alarm closes. Altered again: a new alarm, one open.
    segment.write_bytes(original)
    _verify(auditor, session_id)
    assert BANNER not in supervisor.get("/sessions/").get_data(as_text=True)
    _flip(segment)
    _fetch(_client(console, "court-clerk"), console, "playback")
    board = supervisor.get("/alarms/").get_data(as_text=True)
    rows = _rows(board, session_id)
    assert len(rows) == 2
    assert 'class="alarm-open"' in rows[0] and PLAYBACK_VI in rows[0]
    assert 'class="alarm-closed"' in rows[1] and '<td class="detections">3</td>' in rows[1]
    assert f"{BANNER}1<" in supervisor.get("/sessions/").get_data(as_text=True)
    segment.write_bytes(original)
