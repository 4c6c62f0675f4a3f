"""Rooms report their sessions to the console's catalog over HTTP, each with its own room's
credential; pages read the catalog alone, never a listing of the store.

The console is served by waitress on loopback and the appliance's outbox delivers to it
with the real HTTP client, while the console is down and after it comes back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import waitress
from flask import Flask

from evidence_store.index import (
    INGEST_PATH,
    ROOM_HEADER,
    CatalogEvent,
    CatalogReporter,
    HttpDelivery,
    catalog_outbox,
    reconcile,
)
from evidence_store.installation import DataDir
from evidence_store.model import SessionMetadata
from evidence_store.outbox import Backoff, OutboxSender, Route
from evidence_store.session import SessionWriter
from tests.support.cli import SMALL, run_sealroom
from tests.support.console import MEDIA, Console, build_console, login
from web.evidence import INDEX_KEY
from web.recorders import room_key
from web.room_credential import catalog_token
from web.settings import ConsoleSettings

OTHER_UNIT = "danang"


@pytest.fixture
def console(tmp_path: Path) -> Console:
    built = build_console(tmp_path / "console")
    built.app.config["WTF_CSRF_ENABLED"] = True  # the ingest must not need a CSRF token
    return built


def credential(console: Console, room: str = "room1") -> str:
    return catalog_token(room_key(console.data.root, ConsoleSettings()), room)


def an_event(started_at: str = "2026-03-01T01:00:00.000000Z", **metadata: Any) -> dict[str, Any]:
    fields = {"case_number": "VKS-77/2026", "room": "Phòng 1", "unit": "hanoi", **metadata}
    return CatalogEvent(
        kind="started",
        session_id="s-20260301T010000Z-0000abcd",
        at="2026-03-01T01:00:01.000000Z",
        state="open",
        links=1,
        head="cd" * 32,
        metadata=SessionMetadata(**fields),
        started_at=started_at,
        duration_us=0,
        segments=0,
        media_bytes=0,
    ).model_dump(mode="json")


def post(app: Flask, body: Any, *, room: str = "room1", token: str | None) -> tuple[int, Any]:
    headers = {ROOM_HEADER: room}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = app.test_client().post(INGEST_PATH, json=body, headers=headers)
    return response.status_code, response.get_json(silent=True)


def catalogued(console: Console) -> set[str]:
    return {s.session_id for s in console.app.extensions[INDEX_KEY].all()}


def test_a_room_reports_with_its_own_credential_and_nothing_else_gets_in(
    console: Console,
) -> None:
    before = catalogued(console)
    token = credential(console)
    assert post(console.app, an_event(), token=None)[0] == 401
    assert post(console.app, an_event(), token="not-it")[0] == 401
    assert post(console.app, an_event(), room="room2", token=credential(console, "room2"))[0] == 401
    assert post(console.app, an_event(), room="room1", token=credential(console, "room2"))[0] == 401
    status, body = post(console.app, an_event(unit=OTHER_UNIT), token=token)
    assert status == 409 and "danang" in body["error"]
    status, body = post(console.app, {**an_event(), "links": 0}, token=token)
    assert status == 422 and "links" in body["error"]
    assert post(console.app, ["not", "an", "object"], token=token)[0] == 400
    assert catalogued(console) == before  # every refusal changed nothing
    assert post(console.app, an_event(), token=token) == (
        200,
        {"session_id": "s-20260301T010000Z-0000abcd", "changed": True},
    )
    assert post(console.app, an_event(), token=token)[1]["changed"] is False  # idempotent
    status, body = post(console.app, an_event(case_number="VKS-OTHER"), token=token)
    assert status == 409 and "metadata" in body["error"]


def test_the_list_files_a_session_under_its_day_in_the_consoles_time_zone(
    console: Console,
) -> None:
    """17:30 UTC on 1 March is 00:30 on 2 March in Hà Nội, where the console is."""
    late = an_event(started_at="2026-03-01T17:30:00.000000Z", case_number="VKS-NIGHT/2026")
    assert post(console.app, late, token=credential(console))[0] == 200
    client = console.app.test_client()
    login(client, "prosecutor")
    on_the_2nd = client.get("/sessions/?date_from=2026-03-02&date_to=2026-03-02")
    assert "VKS-NIGHT/2026" in on_the_2nd.get_data(as_text=True)
    on_the_1st = client.get("/sessions/?date_from=2026-03-01&date_to=2026-03-01")
    assert "VKS-NIGHT/2026" not in on_the_1st.get_data(as_text=True)
    bad = client.get("/sessions/?date_from=2026-13-45")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)


def test_pages_read_the_catalog_alone(console: Console) -> None:
    """A session in the store that no room reported is not listed, and its page is 404
    without any rebuild; the worker's reconcile brings it in."""
    writer = SessionWriter.start(
        console.data.store(),
        console.data.signer(),
        SessionMetadata(case_number="VKS-UNREPORTED", room="Phòng 1", unit="hanoi"),
        MEDIA,
    )
    writer.stop("kết thúc")
    client = console.app.test_client()
    login(client, "prosecutor")
    assert "VKS-UNREPORTED" not in client.get("/sessions/").get_data(as_text=True)
    assert client.get(f"/sessions/{writer.session_id}").status_code == 404
    reconcile(console.app.extensions[INDEX_KEY], console.data.store(), None)
    assert "VKS-UNREPORTED" in client.get("/sessions/").get_data(as_text=True)
    assert client.get(f"/sessions/{writer.session_id}").status_code == 200


@pytest.fixture
def served(console: Console) -> Iterator[tuple[Console, int]]:
    server = waitress.create_server(console.app, host="127.0.0.1", port=0, threads=4)
    port = int(server.effective_port)  # type: ignore[union-attr]
    server.close()  # the port is known; the console is "down" until the test starts it
    yield console, port


def test_events_wait_while_the_console_is_down_and_register_once_it_is_up(
    served: tuple[Console, int], tmp_path: Path
) -> None:
    console, port = served
    appliance = DataDir.resolve(tmp_path / "appliance")
    outbox = catalog_outbox(appliance.root)
    delivery = HttpDelivery(f"http://127.0.0.1:{port}", "room1", credential(console))
    sender = OutboxSender([Route(outbox, delivery, backoff=Backoff(initial=0.05, maximum=0.1))])
    writer = SessionWriter.start(
        appliance.store(create=True),
        appliance.signer(),
        SessionMetadata(case_number="VKS-HTTP/2026", room="Phòng 1", unit="hanoi"),
        MEDIA,
        on_head=CatalogReporter(outbox).on_head,
    )
    for index in range(2):
        writer.inflight_path(index).write_bytes(os.urandom(500))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    writer.stop("kết thúc")  # recording never waited for the console
    assert sender.drain_once() == 0
    assert outbox.backlog().items == 4  # started, two segments, sealed
    assert writer.session_id not in catalogued(console)
    server = waitress.create_server(console.app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        sender.routes[0].status.next_attempt_at = 0.0  # the back-off has passed
        assert sender.drain_once() == 4
    finally:
        server.close()
    row = console.app.extensions[INDEX_KEY].get(writer.session_id)
    assert row is not None
    assert (row.state.value, row.segments, row.links) == ("sealed", 2, 4)
    assert outbox.backlog().items == 0 and outbox.refused() == []


@pytest.mark.slow
def test_a_recording_on_an_appliance_registers_at_the_console_as_it_happens(
    served: tuple[Console, int], tmp_path: Path
) -> None:
    """`sealroom record` on an appliance of its own, with its room's credential from
    `sealroom catalog-credential`, reports to the console over HTTP."""
    console, port = served
    token_file = tmp_path / "catalog-token"
    written = run_sealroom(
        "catalog-credential", "room1", "--out", str(token_file), data_dir=console.data.root
    )
    assert written.returncode == 0, written.stderr
    assert token_file.stat().st_mode & 0o777 == 0o600
    again = run_sealroom(
        "catalog-credential", "room1", "--out", str(token_file), data_dir=console.data.root
    )
    assert again.returncode == 0 and "already in" in again.stdout
    other = tmp_path / "other"
    other.write_text("something else")
    refused = run_sealroom(
        "catalog-credential", "room1", "--out", str(other), data_dir=console.data.root
    )
    assert refused.returncode == 2 and "never written over" in refused.stderr
    assert other.read_text() == "something else"
    unknown = run_sealroom(
        "catalog-credential", "room9", "--out", str(tmp_path / "t9"), data_dir=console.data.root
    )
    assert unknown.returncode == 2 and "no room" in unknown.stderr
    server = waitress.create_server(console.app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
        env |= {
            "SEALROOM_CATALOG_URL": f"http://127.0.0.1:{port}",
            "SEALROOM_CATALOG_ROOM": "room1",
            "SEALROOM_CATALOG_TOKEN": token_file.read_text(),
        }
        recorded = subprocess.run(
            [sys.executable, "-m", "sealroom", "record", "--synthetic", "--room", "Phòng 1",
             "--case", "VKS-APPLIANCE/2026", "--unit", "hanoi", "--duration", "2", *SMALL,
             "--json", "--data-dir", str(tmp_path / "appliance")],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
    finally:
        server.close()
    session_id = json.loads(recorded.stdout)["session_id"]
    row = console.app.extensions[INDEX_KEY].get(session_id)
    assert row is not None and row.state.value == "sealed" and row.segments >= 1
    assert row.case_number == "VKS-APPLIANCE/2026"
