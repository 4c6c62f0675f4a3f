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
import sqlalchemy
from alembic import command
from alembic.config import Config

from tests.support.cli import run_sealroom
from tests.support.console import (
    PASSWORD,
    Console,
    build_console,
    catalogue,
    csrf_token,
    login,
    record_session,
)
from web.audit import custody_log
from web.auth.accounts import create_user
from web.schema import MIGRATIONS


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


def test_bookmarks_are_shared_with_the_team_unless_private(console: Console) -> None:
    author, other = console.app.test_client(), console.app.test_client()
    login(author, "prosecutor")
    login(other, "supervisor")
    url = f"/sessions/{console.own_session}"
    token = csrf_token(author, url)
    response = author.post(
        f"{url}/bookmarks", data={"offset_ms": "1500", "note": "lời khai", "csrf_token": token}
    )
    assert response.status_code == 302
    private = author.post(
        f"{url}/bookmarks",
        data={"offset_ms": "0", "note": "riêng tư", "private": "y", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert private.status_code == 200 and private.json is not None
    assert private.json["time"] == "00:00:00.000" and private.json["shared"] is False
    assert private.json["wall"].endswith("GMT+7")  # the moment's wall-clock time beside it
    assert "lời khai" in author.get(url).get_data(as_text=True)
    seen = other.get(url).get_data(as_text=True)
    assert "lời khai" in seen and "riêng tư" not in seen
    # Only the author removes it; in the background, the page stays where it is.
    mark = private.json["delete_url"]
    assert other.post(mark, data={"csrf_token": csrf_token(other, url)}).status_code == 404
    removed = author.post(mark, data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert removed.json == {"removed": private.json["id"]}


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
    assert "BỊ CAN THIỆP" in page and "segments/000000.mp4" in page
    with console.app.app_context():
        results = [e.detail.get("intact") for e in custody_log().entries(action="verify")]
    assert results == [True, False]


def test_the_auditor_sees_integrity_and_filters(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    client = console.app.test_client()
    login(client, "auditor")
    client.post("/custody/verify", data={"csrf_token": csrf_token(client, "/custody/")})
    page = client.get("/custody/?action=login").get_data(as_text=True)
    events = page.split('id="custody"', 1)[1]  # the table, not the menu of every action
    assert "NGUYÊN VẸN" in page and ">đăng nhập<" in events and ">xem<" not in events
    with sqlite3.connect(console.data.root / "custody.db") as db:
        db.execute("UPDATE custody_events SET actor = 'x' WHERE seq = 2")
    client.post("/custody/verify", data={"csrf_token": csrf_token(client, "/custody/")})
    page = client.get("/custody/").get_data(as_text=True)
    assert "BỊ CAN THIỆP" in page and "custody row 2" in page


def test_the_terminal_never_pretends_to_record(console: Console) -> None:
    client = console.app.test_client()
    login(client, "investigator")
    status = client.get("/terminal/room1/status.json")
    assert status.status_code == 503 and status.get_json()["reachable"] is False
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
    assert json.loads(made.stdout) == {
        "username": "root-admin",
        "role": "admin",
        "unit": "supreme",
        "awaiting_approval": False,  # the first administrator (bootstrap): nobody could approve
    }
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


def test_a_session_whose_first_link_is_unreadable_is_damaged_and_belongs_to_the_root(
    tmp_path: Path,
) -> None:
    """The console used to leave such a session out of every list; it is shown as damaged,
    with its reason, to the root unit only (its own unit cannot be read any more). No room
    reported it: reconcile found it so."""
    console = build_console(tmp_path)
    with console.app.app_context():
        create_user("vks-toi-cao", role="prosecutor", unit="supreme", password=PASSWORD)
    damaged = record_session(console.data, "hanoi-bd", "VKS-3/2026", b"\0" * 64, report=False)
    first = console.data.store().path(f"sessions/{damaged}/chain/000000.json")
    first.chmod(0o644)
    first.write_bytes(b"{")
    catalogue(console.app)
    url = f"/sessions/{damaged}"
    top = console.app.test_client()
    login(top, "vks-toi-cao")
    listed = top.get("/sessions/").get_data(as_text=True)
    assert url in listed and console.other_session in listed
    page = top.get(url).get_data(as_text=True)
    assert "chain/000000.json: not valid JSON" in page
    below = console.app.test_client()
    login(below, "prosecutor")  # in hanoi, above the session's own unit hanoi-bd
    assert url not in below.get("/sessions/").get_data(as_text=True)
    assert below.get(url).status_code == 404


def test_the_console_and_the_command_line_share_one_session_index(tmp_path: Path) -> None:
    console = build_console(tmp_path / "data")
    client = console.app.test_client()
    login(client, "prosecutor")
    assert client.get("/sessions/").status_code == 200
    indexed = run_sealroom("sessions", "--index", "--json", data_dir=console.data.root)
    assert indexed.returncode == 0, indexed.stderr
    from_store = run_sealroom("sessions", "--json", data_dir=console.data.root)
    rows = json.loads(indexed.stdout)
    assert {row["session_id"] for row in rows} == {console.own_session, console.other_session}
    assert rows == json.loads(from_store.stdout)


def test_a_console_database_of_the_previous_schema_gives_its_index_up(tmp_path: Path) -> None:
    """Revision 0003 drops the console's own index table; the one index fills from the store."""
    root = tmp_path / "data"
    root.mkdir()
    engine = sqlalchemy.create_engine(f"sqlite:///{root / 'console.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.exec_driver_sql(
            "INSERT INTO indexed_sessions (session_id, unit_code, room, case_number, started_at,"
            " state) VALUES ('s-20260101T000000Z-00000000', 'supreme', 'P', 'OLD-1', '', 'open')"
        )
    console = build_console(root)
    assert "indexed_sessions" not in sqlalchemy.inspect(engine).get_table_names()
    engine.dispose()
    client = console.app.test_client()
    login(client, "prosecutor")
    page = client.get("/sessions/").get_data(as_text=True)
    assert "VKS-1/2026" in page and "OLD-1" not in page
