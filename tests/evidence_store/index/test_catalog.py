"""The catalog fed by events: rows only move forward, a session belongs to the room that
reported it, and search finds what people type (any case, no diacritics, đ = d), with dates
in the console's time zone. The same tests run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence_store.errors import UsageError
from evidence_store.index import (
    COUNT_CAP,
    CatalogConflict,
    CatalogEvent,
    SealState,
    SessionIndex,
    SessionSearch,
    search_key,
)
from evidence_store.model import SessionMetadata

HEAD = "ab" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionIndex]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    index = SessionIndex.open(url)
    yield index
    index.close()


def event(
    session_id: str = "s-20260301T010000Z-0000000a",
    *,
    kind: str = "segments",
    links: int = 3,
    state: str = "open",
    started_at: str = "2026-03-01T01:00:00.000000Z",
    location: str = "spool",
    witnessed: bool = False,
    **metadata: Any,
) -> CatalogEvent:
    fields: dict[str, Any] = {
        "case_number": "VKS-BĐ-12/2026",
        "room": "Phòng hỏi cung 1",
        "unit": "hanoi",
        "accused": ["Nguyễn Văn Ánh"],
        "investigators": ["Trần Thị Bích", "Đỗ Đức Dũng"],
    }
    fields.update(metadata)
    return CatalogEvent(
        kind=kind,  # type: ignore[arg-type]
        session_id=session_id,
        at="2026-03-01T01:00:05.000000Z",
        state=state,  # type: ignore[arg-type]
        links=links,
        head=HEAD,
        metadata=SessionMetadata(**fields),
        started_at=started_at,
        ended_at="2026-03-01T02:00:00.000000Z" if state != "open" else None,
        duration_us=links * 1_000_000,
        segments=links - 1,
        media_bytes=links * 1000,
        location=location,  # type: ignore[arg-type]
        witnessed=witnessed,
    )


def found(index: SessionIndex, **criteria: Any) -> set[str]:
    page = index.search(SessionSearch(**criteria), page=1, per_page=50)
    return {s.session_id for s in page.items}


def test_a_late_or_repeated_event_never_moves_a_session_backwards(catalog: SessionIndex) -> None:
    session_id = "s-20260301T010000Z-0000000a"
    assert catalog.record(event(kind="started", links=1), room="room1")
    assert catalog.record(event(links=5), room="room1")
    assert catalog.record(event(kind="sealed", links=7, state="sealed"), room="room1")
    assert not catalog.record(event(links=6), room="room1")  # late: older than the seal
    assert not catalog.record(event(kind="sealed", links=7, state="sealed"), room="room1")
    assert catalog.record(
        event(kind="uploaded", links=7, state="sealed", location="bucket"), room="room1"
    )
    assert catalog.record(
        event(kind="released", links=7, state="sealed", location="released"), room="room1"
    )
    assert not catalog.record(
        event(kind="uploaded", links=7, state="sealed", location="bucket"), room="room1"
    )
    row = catalog.get(session_id)
    assert row is not None
    assert (row.state, row.links, row.segments) == (SealState.SEALED, 7, 6)
    assert catalog.progress([session_id]) == {session_id: ("sealed", 7, "released", False)}


def test_a_witness_receipt_once_reported_stays_reported(catalog: SessionIndex) -> None:
    session_id = "s-20260301T010000Z-0000000a"
    catalog.record(event(kind="sealed", links=7, state="sealed"), room="room1")
    assert catalog.record(
        event(kind="uploaded", links=7, state="sealed", location="bucket", witnessed=True),
        room="room1",
    )
    assert not catalog.record(event(kind="sealed", links=7, state="sealed"), room="room1")
    row = catalog.get(session_id)
    assert row is not None and row.witnessed


def test_one_late_event_alone_registers_a_session_the_catalog_missed(
    catalog: SessionIndex,
) -> None:
    catalog.record(
        event(kind="released", links=9, state="interrupted", location="released"), room="room1"
    )
    [row] = catalog.all()
    assert (row.state, row.case_number, row.accused) == (
        SealState.INTERRUPTED,
        "VKS-BĐ-12/2026",
        ["Nguyễn Văn Ánh"],
    )


def test_another_rooms_event_or_other_metadata_is_refused_and_changes_nothing(
    catalog: SessionIndex,
) -> None:
    catalog.record(event(links=2), room="room1")
    with pytest.raises(CatalogConflict, match="room1"):
        catalog.record(event(kind="sealed", links=9, state="sealed"), room="room2")
    with pytest.raises(CatalogConflict, match="metadata"):
        catalog.record(event(links=9, case_number="VKS-OTHER"), room="room1")
    [row] = catalog.all()
    assert (row.state, row.links, row.case_number) == (SealState.OPEN, 2, "VKS-BĐ-12/2026")


def test_search_as_people_type_it(catalog: SessionIndex) -> None:
    ours = "s-20260301T010000Z-0000000a"
    other = "s-20260301T020000Z-0000000b"
    catalog.record(event(ours), room="room1")
    catalog.record(
        event(
            other,
            case_number="VKS-HN-3/2026",
            room="Phòng 2",
            accused=["Lê Thị Hoa"],
            investigators=["Phạm Văn Cường"],
        ),
        room="room2",
    )
    for typed in ("Ánh", "ánh", "Nguyen Van Anh", "NGUYỄN VĂN", "anh", "an"):
        assert found(catalog, accused=typed) == {ours}, typed
    for typed in ("vks-bđ", "VKS-BD", "bd-12/2026", "12/"):
        assert found(catalog, case_number=typed) == {ours}, typed
    assert found(catalog, investigator="do duc dung") == {ours}
    assert found(catalog, investigator="Đỗ Đức") == {ours}
    assert found(catalog, investigator="cuong") == {other}
    assert found(catalog, room="phong hoi") == {ours}
    assert found(catalog, room="PHÒNG") == {ours, other}
    assert found(catalog, accused="100%") == set()  # % is a character, not a wildcard
    assert found(catalog, accused='"anh') == set()
    assert found(catalog, accused="bích dung") == set()  # never across two names


def test_dates_are_whole_days_in_the_consoles_time_zone(catalog: SessionIndex) -> None:
    # 00:30 on 2 March in Hà Nội is 17:30 on 1 March in UTC.
    early = "s-20260301T173000Z-0000000c"
    catalog.record(event(early, started_at="2026-03-01T17:30:00.000000Z"), room="room1")
    local = {"timezone": "Asia/Ho_Chi_Minh"}
    assert found(catalog, date_from="2026-03-02", date_to="2026-03-02", **local) == {early}
    assert found(catalog, date_to="2026-03-01", **local) == set()
    assert found(catalog, date_from="2026-03-01", date_to="2026-03-01", timezone="UTC") == {early}
    with pytest.raises(UsageError, match="not a date"):
        found(catalog, date_from="2026-13-45")
    with pytest.raises(UsageError, match="time zone"):
        found(catalog, date_from="2026-03-01", timezone="Mars/Olympus")


def test_counts_stop_at_the_cap_and_pages_go_on(catalog: SessionIndex) -> None:
    events = [
        event(
            f"s-20260301T01{n // 60:02d}{n % 60:02d}Z-{n:08x}",
            started_at=f"2026-03-01T01:{n // 60:02d}:{n % 60:02d}.000000Z",
        )
        for n in range(COUNT_CAP + 5)
    ]
    assert catalog.record_all(events, room="room1") == len(events)
    first = catalog.search(SessionSearch(accused="anh"), page=1, per_page=25)
    assert (first.total, first.more, first.has_next) == (COUNT_CAP, True, True)
    assert [s.session_id for s in first.items] == [e.session_id for e in events[::-1][:25]]
    last = catalog.search(SessionSearch(), page=41, per_page=25)
    assert [s.session_id for s in last.items] == [e.session_id for e in events[::-1][1000:]]
    assert not last.has_next
    few = catalog.search(SessionSearch(case_number="nothing like it"), page=1, per_page=25)
    assert (few.total, few.more, few.items) == (0, False, [])


def test_search_keys_are_one_function() -> None:
    assert search_key("  Nguyễn   Văn\tÁNH ") == "nguyen van anh"
    assert search_key("VKS-BĐ-12/2026") == search_key("vks-bd-12/2026") == "vks-bd-12/2026"
    assert search_key("Ðặng") == "dang"


def test_an_index_of_the_previous_schema_is_upgraded_with_its_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    SessionIndex.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:  # back to revision 0001, with one row in it
        db.execute("DROP TABLE session_index")
        db.execute("DROP TABLE session_index_search")
        db.execute(
            "CREATE TABLE session_index (session_id VARCHAR(40) PRIMARY KEY, state VARCHAR(20), "
            "unit VARCHAR(200), room VARCHAR(200), case_number VARCHAR(200), accused TEXT, "
            "investigators TEXT, session_metadata TEXT, started_at VARCHAR(27), ended_at "
            "VARCHAR(27), duration_us BIGINT, segments INTEGER, media_bytes BIGINT, head "
            "VARCHAR(64), problem TEXT, category VARCHAR(100), retain_until VARCHAR(27), "
            "indexed_at VARCHAR(27))"
        )
        db.execute("CREATE INDEX ix_session_index_state ON session_index (state)")
        db.execute(
            "INSERT INTO session_index VALUES ('s-20260301T010000Z-0000000a', 'sealed', 'hanoi', "
            "'P1', 'VKS-BĐ-1', '[\"Nguyễn Văn Ánh\"]', '[]', NULL, "
            "'2026-03-01T01:00:00.000000Z', NULL, 0, 0, 0, NULL, NULL, NULL, NULL, "
            "'2026-03-01T01:00:00.000000Z')"
        )
        db.execute("UPDATE session_index_alembic_version SET version_num = '0001'")
    db.close()
    index = SessionIndex.open(f"sqlite:///{path}")
    assert found(index, accused="nguyen van anh", case_number="vks-bd") == {
        "s-20260301T010000Z-0000000a"
    }
    index.close()
