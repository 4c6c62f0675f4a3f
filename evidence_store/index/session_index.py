"""The catalog: one SQL table of sessions, for listing, searching and scoping.

The rooms feed it as sessions happen (``record``, from their events: ``events.CatalogEvent``);
`sealroom catalog reconcile` adds what the events missed, from listings of the store and the
bucket (``merge``, in bounded batches: ``reconcile``); `sealroom reindex` rebuilds it from the
bucket alone (``rebuild``). Pages only ever read it (``get``, ``search``): never a listing.

Rows only move forward. An event or a summary is applied field by field only where it is
further along than the row (sealed beats open, then the longer chain; the evidence's place
goes spool, bucket, released), so a late or repeated event changes nothing. A session
belongs to the room that first reported it: another room's event about it is refused, and so
is an event whose sealed metadata differs from the row's.

Its database is the installation's ``session_index_url`` (default
``sqlite:///<data_dir>/session-index.db``; PostgreSQL for a site's central catalog). Its schema
is upgraded by its own Alembic migrations at open, with its own version table, so it can live
beside the console's or the custody log's tables in one database.

A session that recorded nothing (``empty``) has no row: there is nothing to search or show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from evidence_store.bucket import RetentionPolicy
from evidence_store.canonical import canonical_json
from evidence_store.errors import SealroomError
from evidence_store.index.events import LOCATION_RANK, STATE_RANK, CatalogEvent, Location
from evidence_store.index.schema import SessionRow
from evidence_store.index.search import SessionPage, SessionSearch, page_rows
from evidence_store.index.search_text import list_key, search_key
from evidence_store.index.summary import SealState, SessionSummary, session_ids, summarise
from evidence_store.model import SessionMetadata, stored
from evidence_store.store import BrowsableStore
from evidence_store.timefmt import format_utc, parse_utc, utc_now
from evidence_store.upgrades import upgrade_to_head

MIGRATIONS = Path(__file__).parent / "migrations"
ATTEMPTS = 3  # a row inserted by another writer meanwhile: read it and merge again


class CatalogConflict(SealroomError):
    """An event that contradicts the catalog: another room's session, or other metadata."""


class SessionIndex:
    """The catalog in one database. Thread-safe: every call has its own SQL session."""

    def __init__(
        self,
        engine: Engine,
        writer: Engine | None = None,
        *,
        policy: RetentionPolicy | None = None,
    ) -> None:
        self.engine = engine
        self._writer = writer or engine
        self.policy = policy  # gives events' rows their retention category and date

    @classmethod
    def open(cls, url: str, *, policy: RetentionPolicy | None = None) -> SessionIndex:
        """Open the catalog at ``url``, creating or upgrading its table first."""
        migrate(url)
        engine = create_engine(url, pool_pre_ping=True)  # survives a database restart
        if engine.dialect.name != "sqlite":
            return cls(engine, policy=policy)
        # SQLite: a read-then-write takes the write lock first, so two writers wait in turn
        # instead of one failing to upgrade its lock.
        writer = create_engine(url)
        _begin_immediately(writer)
        return cls(engine, writer, policy=policy)

    def close(self) -> None:
        self.engine.dispose()
        self._writer.dispose()

    def get(self, session_id: str) -> SessionSummary | None:
        with Session(self.engine) as session:
            row = _row_of(session, session_id)
            return _summary(row) if row is not None else None

    def all(self) -> list[SessionSummary]:
        """Every session in the catalog, oldest first (by id, which starts with the start)."""
        with Session(self.engine) as session:
            rows = session.scalars(select(SessionRow).order_by(SessionRow.session_id))
            return [_summary(row) for row in rows]

    def search(self, search: SessionSearch, *, page: int, per_page: int) -> SessionPage:
        """The ``page``-th page (from 1) of the sessions ``search`` finds, newest first."""
        with Session(self.engine) as session:
            rows, total, more = page_rows(
                session, search, self.engine.dialect.name, page=page, per_page=per_page
            )
            return SessionPage([_summary(row) for row in rows], page, per_page, total, more)

    def progress(self, session_ids: Iterable[str]) -> dict[str, tuple[str, int, str, bool]]:
        """(state, links, location, witnessed) of those of ``session_ids`` the catalog holds."""
        wanted = list(session_ids)
        with Session(self.engine) as session:
            rows = session.execute(
                select(
                    SessionRow.session_id,
                    SessionRow.state,
                    SessionRow.links,
                    SessionRow.location,
                    SessionRow.witnessed,
                ).where(SessionRow.session_id.in_(wanted))
            )
            return {r.session_id: (r.state, r.links, r.location, bool(r.witnessed)) for r in rows}

    def record(self, event: CatalogEvent, *, room: str | None) -> bool:
        """Apply one room's event; True if the row changed. CatalogConflict, with nothing
        changed, when the session is another room's or its metadata differs."""
        return self.record_all([event], room=room) == 1

    def record_all(self, events: Sequence[CatalogEvent], *, room: str | None) -> int:
        """Apply events in one transaction (all or, on a conflict, none); returns how many
        changed a row."""
        for attempt in range(ATTEMPTS):
            with Session(self._writer) as session:
                changed = 0
                try:
                    for item in events:
                        metadata = canonical_json(item.metadata.to_document()).decode()
                        changed += _merge(
                            session,
                            item.session_id,
                            _event_fields(item, metadata, self.policy),
                            item.progress,
                            item.location,
                            room=room,
                            check=metadata,
                        )
                    session.commit()
                except IntegrityError:  # a row inserted by another writer: merge into it
                    session.rollback()
                    if attempt == ATTEMPTS - 1:
                        raise
                    continue
                return changed
        return 0  # not reached

    def merge(self, summary: SessionSummary, location: Location) -> bool:
        """Apply what a listing found (reconcile): like an event, it only moves a row
        forward. An empty session is not catalogued."""
        if summary.state is SealState.EMPTY:
            return False
        fields = _summary_fields(summary)
        del fields["session_id"]
        progress = (STATE_RANK[summary.state.value], summary.links)
        for attempt in range(ATTEMPTS):
            with Session(self._writer) as session:
                try:
                    changed = _merge(
                        session,
                        summary.session_id,
                        fields,
                        progress,
                        location,
                        room=None,
                        check=None,
                    )
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    if attempt == ATTEMPTS - 1:
                        raise
                    continue
                return changed
        return False  # not reached

    def put(self, summary: SessionSummary) -> bool:
        """Add or replace one session's row as ``summary`` has it (whatever the row held)."""
        with Session(self._writer) as session:
            row = _row_of(session, summary.session_id)
            if row is None:
                session.add(SessionRow(**_summary_fields(summary), indexed_at=_now()))
            else:
                for name, value in _summary_fields(summary).items():
                    setattr(row, name, value)
                row.indexed_at = _now()
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def rebuild(
        self, store: BrowsableStore, policy: RetentionPolicy | None = None
    ) -> list[SessionSummary]:
        """Replace the whole catalog with ``store``'s sessions, in one transaction: readers
        see the old catalog or the new one, never half of one. Returns the rows written."""
        summaries = [summarise(store, session_id, policy) for session_id in session_ids(store)]
        kept = [s for s in summaries if s.state is not SealState.EMPTY]
        now = _now()
        with Session(self._writer) as session, session.begin():
            session.execute(delete(SessionRow))
            session.add_all(
                SessionRow(**_summary_fields(summary), location="bucket", indexed_at=now)
                for summary in kept
            )
        return kept


def _merge(
    session: Session,
    session_id: str,
    fields: dict[str, Any],
    progress: tuple[int, int],
    location: Location,
    *,
    room: str | None,
    check: str | None,
) -> bool:
    """Add the session's row, or move it forward, in ``session`` (not committed)."""
    fields = dict(fields)
    witnessed = bool(fields.pop("witnessed", False))  # like the place: once true, true
    row = _row_of(session, session_id, for_update=True)
    if row is None:
        session.add(
            SessionRow(
                session_id=session_id,
                **fields,
                location=location,
                witnessed=witnessed,
                reported_by=room,
                indexed_at=_now(),
            )
        )
        session.flush()  # a second event of the same batch finds it
        return True
    _refuse_conflicts(row, room, check)
    return _forward(row, fields, progress, location, room, witnessed=witnessed)


def _event_fields(
    event: CatalogEvent, metadata: str, policy: RetentionPolicy | None
) -> dict[str, Any]:
    retention: dict[str, Any] = {}
    if policy is not None:
        until = policy.session_until(event.metadata, parse_utc(event.started_at))
        retention = {
            "category": policy.category(event.metadata),
            "retain_until": format_utc(until),
        }
    return {
        **retention,
        "state": event.state,
        "links": event.links,
        "head": event.head,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
        "duration_us": event.duration_us,
        "segments": event.segments,
        "media_bytes": event.media_bytes,
        "problem": None,
        "witnessed": event.witnessed,
        **_metadata_fields(event.metadata, metadata),
    }


def _row_of(session: Session, session_id: str, *, for_update: bool = False) -> SessionRow | None:
    query = select(SessionRow).where(SessionRow.session_id == session_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def _refuse_conflicts(row: SessionRow, room: str | None, metadata: str | None) -> None:
    if room is not None and row.reported_by is not None and row.reported_by != room:
        raise CatalogConflict(
            f"session {row.session_id} was reported by room {row.reported_by!r}, not {room!r}"
        )
    if metadata is not None and row.session_metadata not in (None, metadata):
        raise CatalogConflict(f"session {row.session_id}: its metadata differs from the row's")


def _forward(
    row: SessionRow,
    fields: dict[str, Any],
    progress: tuple[int, int],
    location: Location,
    room: str | None,
    *,
    witnessed: bool,
) -> bool:
    """Move ``row`` forward to what ``fields`` say, where they are further along."""
    changed = False
    if progress > (STATE_RANK.get(row.state, 0), row.links):
        for name, value in fields.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
    if LOCATION_RANK[location] > LOCATION_RANK.get(row.location, 0):
        row.location = location
        changed = True
    if witnessed and not row.witnessed:  # the witness's receipt for the seal has arrived
        row.witnessed = True
        changed = True
    if room is not None and row.reported_by is None:
        row.reported_by = room
        changed = True
    if changed:
        row.indexed_at = _now()
    return changed


def _now() -> str:
    return format_utc(utc_now())


def _names(names: list[str]) -> str:
    return json.dumps(names, ensure_ascii=False)


def _metadata_fields(metadata: SessionMetadata | None, document: str | None) -> dict[str, Any]:
    accused = list(metadata.accused) if metadata else []
    investigators = list(metadata.investigators) if metadata else []
    return {
        "unit": metadata.unit if metadata else None,
        "room": metadata.room if metadata else None,
        "case_number": metadata.case_number if metadata else None,
        "accused": _names(accused),
        "investigators": _names(investigators),
        "session_metadata": document,
        "case_key": search_key(metadata.case_number) if metadata else "",
        "room_key": search_key(metadata.room) if metadata else "",
        "accused_key": list_key(accused),
        "investigators_key": list_key(investigators),
    }


def _summary_fields(summary: SessionSummary) -> dict[str, Any]:
    metadata = summary.metadata
    document = canonical_json(metadata.to_document()).decode() if metadata else None
    return {
        "session_id": summary.session_id,
        "state": summary.state.value,
        **_metadata_fields(metadata, document),
        "started_at": summary.started_at,
        "ended_at": summary.ended_at,
        "duration_us": summary.duration_us,
        "segments": summary.segments,
        "media_bytes": summary.media_bytes,
        "head": summary.head,
        "links": summary.links,
        "problem": summary.problem,
        "category": summary.category,
        "retain_until": summary.retain_until,
        "witnessed": summary.witnessed,
    }


def _summary(row: SessionRow) -> SessionSummary:
    metadata = (
        SessionMetadata.model_validate_json(row.session_metadata, context=stored())
        if row.session_metadata
        else None
    )
    return SessionSummary(
        session_id=row.session_id,
        state=SealState(row.state),
        metadata=metadata,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_us=row.duration_us,
        segments=row.segments,
        media_bytes=row.media_bytes,
        head=row.head,
        problem=row.problem,
        category=row.category,
        retain_until=row.retain_until,
        links=row.links,
        witnessed=bool(row.witnessed),
    )


def migrate(url: str) -> None:
    """Bring the catalog's table to the newest schema (on SQLite, holding the write lock for
    the whole upgrade, so two processes opening a new catalog do not both create it)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _begin_immediately(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            upgrade_to_head(config)
    finally:
        engine.dispose()


def _begin_immediately(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
