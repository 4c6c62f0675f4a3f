"""The session index: one SQL table of session summaries, for listing, searching and scoping.

The store holds the truth; every row is a ``summarise`` summary, so the index can be dropped
and rebuilt at any time. One table, three users: the console refreshes it as sessions appear
(``refresh``), `sealroom reindex` rebuilds it from the bucket alone (``rebuild``), and
`sealroom sessions --index` lists it (``all``). Its database is the installation's
``session_index_url`` (default ``sqlite:///<data_dir>/session-index.db``). Its schema is
upgraded by its own Alembic migrations at open, with its own version table, so it can live
beside the console's or the custody log's tables in one database.

A session that recorded nothing (``empty``) has no row: there is nothing to search or show.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import ColumnElement, Engine, and_, create_engine, delete, event, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from evidence_store import layout
from evidence_store.bucket import RetentionPolicy
from evidence_store.canonical import canonical_json
from evidence_store.index.schema import SessionRow
from evidence_store.index.summary import (
    FINAL_STATES,
    SealState,
    SessionSummary,
    session_ids,
    summarise,
)
from evidence_store.model import SessionMetadata, stored
from evidence_store.store import BrowsableStore
from evidence_store.timefmt import format_utc, utc_now

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class SessionSearch:
    """What to look for. Text fields match anywhere in their column; dates are whole UTC
    days, ``YYYY-MM-DD``, both included."""

    units: Collection[str] | None = None  # None: every unit
    unit_of_unassigned: str | None = None  # the unit a session recorded without one counts as
    # Every unit there is: a session filed under none of them counts as unassigned (it is
    # the root's, never nobody's). None: only a session without a unit is unassigned.
    known_units: Collection[str] | None = None
    case_number: str = ""
    accused: str = ""
    room: str = ""
    investigator: str = ""
    date_from: str = ""
    date_to: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.units is not None:
            scope: ColumnElement[bool] = SessionRow.unit.in_(list(self.units))
            if self.unit_of_unassigned is not None and self.unit_of_unassigned in self.units:
                scope = or_(scope, SessionRow.unit.is_(None))
                if self.known_units is not None:
                    scope = or_(scope, SessionRow.unit.not_in(list(self.known_units)))
            found.append(scope)
        for column, value in (
            (SessionRow.case_number, self.case_number),
            (SessionRow.accused, self.accused),
            (SessionRow.room, self.room),
            (SessionRow.investigators, self.investigator),
        ):
            if value:
                found.append(column.contains(value))
        if self.date_from:
            found.append(SessionRow.started_at >= self.date_from)
        if self.date_to:
            found.append(SessionRow.started_at < self.date_to + "T99")  # to the day's end
        return found


@dataclass(frozen=True)
class SessionPage:
    """One page of a search, newest first."""

    items: list[SessionSummary]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


class SessionIndex:
    """The index in one database. Thread-safe: every call has its own SQL session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> SessionIndex:
        """Open the index at ``url``, creating or upgrading its table first."""
        migrate(url)
        return cls(create_engine(url, pool_pre_ping=True))  # survives a database restart

    def close(self) -> None:
        self.engine.dispose()

    def get(self, session_id: str) -> SessionSummary | None:
        with Session(self.engine) as session:
            row = session.get(SessionRow, session_id)
            return _summary(row) if row is not None else None

    def all(self) -> list[SessionSummary]:
        """Every indexed session, oldest first (by id, which starts with the start time)."""
        with Session(self.engine) as session:
            rows = session.scalars(select(SessionRow).order_by(SessionRow.session_id))
            return [_summary(row) for row in rows]

    def search(self, search: SessionSearch, *, page: int, per_page: int) -> SessionPage:
        """The ``page``-th page (from 1) of the sessions ``search`` finds, newest first."""
        conditions = search.conditions()
        where = and_(*conditions) if conditions else None
        with Session(self.engine) as session:
            counting = select(func.count()).select_from(SessionRow)
            query = select(SessionRow)
            if where is not None:
                counting, query = counting.where(where), query.where(where)
            total = session.scalar(counting) or 0
            rows = session.scalars(
                query.order_by(SessionRow.started_at.desc().nulls_last(), SessionRow.session_id)
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
            return SessionPage([_summary(row) for row in rows], page, per_page, total)

    def put(self, summary: SessionSummary) -> bool:
        """Add or replace one session's row; False if another writer added it first (its
        row is as good: it was made from the same store)."""
        with Session(self.engine) as session:
            session.merge(_row(summary, format_utc(utc_now())))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def refresh(
        self,
        store: BrowsableStore,
        policy: RetentionPolicy | None = None,
        *,
        witnessing: bool = False,
    ) -> int:
        """Add new sessions and update unfinished ones; returns how many rows changed.

        A sealed session's row never changes again, so it is not read again; with
        ``witnessing`` (a witness is configured), except to note that the witness's receipt
        for its seal has arrived (one look at one file)."""
        with Session(self.engine) as session:
            known = {row.session_id: _summary(row) for row in session.scalars(select(SessionRow))}
        changed = 0
        for session_id in session_ids(store):
            before = known.get(session_id)
            if before is not None and before.state in FINAL_STATES:
                receipt = layout.session_prefix(session_id) + layout.SEAL_RECEIPT
                if witnessing and not before.witnessed and store.exists(receipt):
                    changed += self.put(replace(before, witnessed=True))
                continue
            summary = summarise(store, session_id, policy)
            if summary.state is SealState.EMPTY or summary == before:
                continue
            if self.put(summary):  # one by one: a lost race costs only that row
                changed += 1
        return changed

    def rebuild(
        self, store: BrowsableStore, policy: RetentionPolicy | None = None
    ) -> list[SessionSummary]:
        """Replace the whole index with ``store``'s sessions, in one transaction: readers see
        the old index or the new one, never half of one. Returns the rows written."""
        summaries = [summarise(store, session_id, policy) for session_id in session_ids(store)]
        kept = [s for s in summaries if s.state is not SealState.EMPTY]
        now = format_utc(utc_now())
        with Session(self.engine) as session, session.begin():
            session.execute(delete(SessionRow))
            session.add_all(_row(summary, now) for summary in kept)
        return kept


def _names(names: list[str]) -> str:
    return json.dumps(names, ensure_ascii=False)


def _row(summary: SessionSummary, indexed_at: str) -> SessionRow:
    metadata = summary.metadata
    return SessionRow(
        session_id=summary.session_id,
        state=summary.state.value,
        unit=summary.unit,
        room=metadata.room if metadata else None,
        case_number=metadata.case_number if metadata else None,
        accused=_names(summary.accused),
        investigators=_names(summary.investigators),
        session_metadata=canonical_json(metadata.to_document()).decode() if metadata else None,
        started_at=summary.started_at,
        ended_at=summary.ended_at,
        duration_us=summary.duration_us,
        segments=summary.segments,
        media_bytes=summary.media_bytes,
        head=summary.head,
        problem=summary.problem,
        category=summary.category,
        retain_until=summary.retain_until,
        indexed_at=indexed_at,
        witnessed=summary.witnessed,
    )


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
        witnessed=bool(row.witnessed),
    )


def migrate(url: str) -> None:
    """Bring the index's table to the newest schema (on SQLite, holding the write lock for
    the whole upgrade, so two processes opening a new index do not both create it)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _begin_immediately(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def _begin_immediately(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
