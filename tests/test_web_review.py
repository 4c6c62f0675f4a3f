"""Review, as the prosecutor and the auditor use it: search and paging, the session page,
bookmarks per user, "verify now", the auditor's custody view, and the room terminal's honesty
when its recorder is unreachable."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.console_fixtures import (
    PASSWORD,
    Console,
    build_console,
    csrf_token,
    login,
    record_session,
)
from web.audit import custody_log


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("console"))
    for n in range(30):  # enough for a second page
        record_session(built.data, "hanoi", f"VKS-{100 + n}/2026", os.urandom(512))
    return built


def test_search_by_case_and_paging(console: Console) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    page = client.get("/sessions/?case=VKS-1/2026").get_data(as_text=True)
    assert "VKS-1/2026" in page and "VKS-105/2026" not in page
    first = client.get("/sessions/").get_data(as_text=True)
    second = client.get("/sessions/?page=2").get_data(as_text=True)
    assert "Trang 1 / 2" in first and "Trang 2 / 2" in second
    assert client.get("/sessions/?accused=Nguyễn").status_code == 200
    assert "VKS-" not in client.get("/sessions/?investigator=nobody").get_data(as_text=True)
    assert client.get("/sessions/?date_from=2000-01-01&date_to=2999-12-31").status_code == 200


def test_the_session_page_shows_the_timeline_and_custody(console: Console) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    page = client.get(f"/sessions/{console.own_session}").get_data(as_text=True)
    assert "nghỉ giải lao" in page and "Tạm dừng" in page
    player = json.loads(page.split('id="player-data">', 1)[1].split("</script>", 1)[0])
    assert player["segments"][0]["url"].endswith("/segments/0.mp4")
    assert "record_sealed" not in page or "view" in page


def test_segments_are_the_sealed_bytes_with_ranges(console: Console) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    url = f"/sessions/{console.own_session}/segments/0.mp4"
    whole = client.get(url)
    stored = (
        console.data.store()
        .path(f"sessions/{console.own_session}/segments/000000.mp4")
        .read_bytes()
    )
    assert whole.data == stored
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == stored[100:200]
    with console.app.app_context():
        plays = custody_log().entries(session_id=console.own_session, action="playback")
    assert len([e for e in plays if e.actor == "prosecutor"]) == 1  # once per login


def test_bookmarks_belong_to_their_author(console: Console) -> None:
    author, other = console.app.test_client(), console.app.test_client()
    login(author, "prosecutor")
    login(other, "supervisor")
    url = f"/sessions/{console.own_session}"
    token = csrf_token(author, url)
    response = author.post(
        f"{url}/bookmarks", data={"offset_ms": "1500", "note": "lời khai", "csrf_token": token}
    )
    assert response.status_code == 302
    assert "lời khai" in author.get(url).get_data(as_text=True)
    assert "lời khai" not in other.get(url).get_data(as_text=True)


def test_verify_now_reports_intact_then_the_first_failure(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    client = console.app.test_client()
    login(client, "auditor")
    url = f"/sessions/{console.own_session}"
    client.post(f"{url}/verify", data={"csrf_token": csrf_token(client, url)})
    assert "NGUYÊN VẸN" in client.get(url).get_data(as_text=True)
    segment = console.data.store().path(f"sessions/{console.own_session}/segments/000000.mp4")
    segment.chmod(0o644)
    segment.write_bytes(b"edited" + segment.read_bytes()[6:])
    client.post(f"{url}/verify", data={"csrf_token": csrf_token(client, url)})
    page = client.get(url).get_data(as_text=True)
    assert "TAMPERED" in page and "segments/000000.mp4" in page
    with console.app.app_context():
        results = [e.detail.get("intact") for e in custody_log().entries(action="verify")]
    assert results == [True, False]


def test_the_auditor_sees_integrity_and_filters(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    client = console.app.test_client()
    login(client, "auditor")
    page = client.get("/custody/?action=login").get_data(as_text=True)
    assert "NGUYÊN VẸN" in page and ">login<" in page and ">view<" not in page
    with sqlite3.connect(console.data.root / "custody.db") as db:
        db.execute("UPDATE custody_events SET actor = 'x' WHERE seq = 2")
    page = client.get("/custody/").get_data(as_text=True)
    assert "BỊ CAN THIỆP" in page and "custody row 2" in page


def test_the_terminal_never_pretends_to_record(console: Console) -> None:
    client = console.app.test_client()
    login(client, "investigator")
    status = client.get("/terminal/room1/status.json")
    assert status.status_code == 503 and status.get_json() == {"reachable": False}
    form = {
        "case_number": "VKS-9/2026",
        "accused": "A",
        "investigators": "B",
        "csrf_token": csrf_token(client, "/terminal/room1/start"),
    }
    response = client.post("/terminal/room1/start", data=form)
    assert response.status_code == 503
    assert "Không có gì đang được ghi" in response.get_data(as_text=True)


def sealroom(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealroom", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_units_and_users_from_the_command_line(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    created = sealroom("units", "create", "--code", "hanoi", "--parent", "supreme", *data)
    assert created.returncode == 0, created.stderr
    made = sealroom(
        "users",
        "create",
        "--username",
        "root-admin",
        "--role",
        "admin",
        "--unit",
        "supreme",
        "--password-stdin",
        "--json",
        *data,
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"username": "root-admin", "role": "admin", "unit": "supreme"}
    again = sealroom(
        "users",
        "create",
        "--username",
        "root-admin",
        "--role",
        "admin",
        "--unit",
        "supreme",
        "--password-stdin",
        *data,
        stdin=PASSWORD + "\n",
    )
    assert again.returncode == 2 and "exists already" in again.stderr
    short = sealroom(
        "users",
        "create",
        "--username",
        "x2",
        "--role",
        "admin",
        "--unit",
        "supreme",
        "--password-stdin",
        *data,
        stdin="short\n",
    )
    assert short.returncode == 2 and "12 characters" in short.stderr
    sideways = sealroom("units", "create", "--code", "q1", "--parent", "nowhere", *data)
    assert sideways.returncode == 2 and "unknown unit" in sideways.stderr
