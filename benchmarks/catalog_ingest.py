"""The catalog's ingest rate: how many room events per second the console takes in.

    python -m benchmarks.catalog_ingest [--rooms 8] [--sessions 40] [--segments 30]

Each simulated room reports its sessions as a room appliance does: started, one event per
sealed segment, sealed, uploaded and released, each a ``POST /api/catalog/events`` with the
room's own credential, to a console served by waitress on loopback (the ingest route, its
credential check, validation and the catalog's transaction: everything a real event costs).
Rooms post at once, each from its own thread, one event at a time (an outbox sends in order).

The baseline, measured first in the same run, applies the same events straight to the same
kind of catalog (``SessionIndex.record``, no HTTP, one thread): the ratio printed is what the
web route costs on top of the catalog's own write. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import waitress
from sqlalchemy import select

from evidence_store.index import INGEST_PATH, ROOM_HEADER, CatalogEvent, SessionIndex
from evidence_store.model import SessionMetadata
from tests.support.console import build_console
from web.extensions import db
from web.models import Room, Unit
from web.recorders import room_key
from web.room_credential import catalog_token
from web.settings import ConsoleSettings


def session_events(room: int, number: int, segments: int) -> list[CatalogEvent]:
    """Every event of one session of one room, in the order the room sends them."""
    session_id = f"s-20260301T{room:02d}{number // 60:02d}{number % 60:02d}Z-{room:04x}{number:04x}"
    metadata = SessionMetadata(case_number=f"VKS-{room}-{number}/2026", room=f"room{room}")
    started = f"2026-03-01T{room:02d}:{number // 60:02d}:{number % 60:02d}.000000Z"
    events = []
    for step in range(segments + 4):
        kind, state, location = "segments", "open", "spool"
        if step == 0:
            kind = "started"
        elif step == segments + 1:
            kind, state = "sealed", "sealed"
        elif step == segments + 2:
            kind, state = "uploaded", "sealed"
        elif step == segments + 3:
            kind, state, location = "released", "sealed", "released"
        sealed = min(step, segments)
        events.append(
            CatalogEvent(
                kind=kind,  # type: ignore[arg-type]
                session_id=session_id,
                at=started,
                state=state,  # type: ignore[arg-type]
                links=1 + sealed + (1 if state == "sealed" else 0),
                head=f"{step:064x}",
                metadata=metadata,
                started_at=started,
                ended_at=started if state == "sealed" else None,
                duration_us=sealed * 4_000_000,
                segments=sealed,
                media_bytes=sealed * 1_000_000,
                location=location,  # type: ignore[arg-type]
            )
        )
    return events


def room_events(room: int, sessions: int, segments: int) -> list[CatalogEvent]:
    return [e for n in range(sessions) for e in session_events(room, n, segments)]


def direct(root: Path, events: dict[int, list[CatalogEvent]]) -> float:
    """Events per second applied straight to a catalog of its own."""
    index = SessionIndex.open(f"sqlite:///{root / 'direct.db'}")
    try:
        started = time.perf_counter()
        for room, batch in events.items():
            for event in batch:
                index.record(event, room=f"room{room}")
        elapsed = time.perf_counter() - started
    finally:
        index.close()
    return sum(len(batch) for batch in events.values()) / elapsed


def over_http(root: Path, events: dict[int, list[CatalogEvent]]) -> tuple[float, list[float]]:
    """Events per second through the console's route, rooms posting at once; and each
    event's round trip in seconds."""
    console = build_console(root / "console")
    with console.app.app_context():
        supreme = db.session.scalar(select(Unit).where(Unit.code == "supreme"))
        for room in events:
            if db.session.scalar(select(Room).where(Room.code == f"room{room}")) is None:
                db.session.add(
                    Room(
                        code=f"room{room}",
                        name=f"Phòng {room}",
                        unit=supreme,
                        recorder_url=f"https://room{room}.example:8443",
                    )
                )
        db.session.commit()
    key = room_key(console.data.root, ConsoleSettings())
    server = waitress.create_server(console.app, host="127.0.0.1", port=0, threads=8)
    port = int(server.effective_port)  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}{INGEST_PATH}"
    round_trips: list[float] = []
    lock = threading.Lock()

    def send(room: int) -> None:
        headers = {
            ROOM_HEADER: f"room{room}",
            "Authorization": f"Bearer {catalog_token(key, f'room{room}')}",
        }
        times = []
        with requests.Session() as http:
            for event in events[room]:
                began = time.perf_counter()
                answer = http.post(url, json=event.model_dump(mode="json"), headers=headers)
                answer.raise_for_status()
                times.append(time.perf_counter() - began)
        with lock:
            round_trips.extend(times)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(events)) as pool:
        list(pool.map(send, events))
    elapsed = time.perf_counter() - started
    # The server's thread is a daemon: it ends with the benchmark.
    return sum(len(batch) for batch in events.values()) / elapsed, round_trips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=40, help="sessions per room")
    parser.add_argument("--segments", type=int, default=30, help="segments per session")
    args = parser.parse_args()
    events = {r: room_events(r, args.sessions, args.segments) for r in range(1, args.rooms + 1)}
    total = sum(len(batch) for batch in events.values())
    with tempfile.TemporaryDirectory(prefix="sealroom-bench-ingest-") as folder:
        root = Path(folder)
        baseline = direct(root, events)
        rate, trips = over_http(root, events)
    trips.sort()
    print(f"{total} events: {args.rooms} rooms x {args.sessions} sessions x {args.segments + 4}")
    print(f"baseline, straight into the catalog (one thread): {baseline:8.0f} events/s")
    print(f"through POST {INGEST_PATH}, {args.rooms} rooms at once: {rate:8.0f} events/s")
    print(
        f"  round trip p50 {statistics.median(trips) * 1e3:.1f} ms, "
        f"p99 {trips[min(len(trips) - 1, int(0.99 * len(trips)))] * 1e3:.1f} ms"
    )
    print(f"ratio, route / straight: {rate / baseline:.2f}")
    print(
        f"a recording room sends about one event per sealed segment (2 s by default): "
        f"{rate:.0f} events/s is enough for {rate * 2:.0f} rooms recording at once"
    )


if __name__ == "__main__":
    main()
