"""Finding sessions in the catalog: what people type, turned into conditions that indexes
answer, and pages whose cost does not grow with the catalog.

Text is matched anywhere in its field, in the one search form (``search_text.search_key``):
on PostgreSQL by ``LIKE`` over trigram-indexed key columns, on SQLite through the FTS5
trigram table for three characters or more (``LIKE`` below that). Both find the same rows.

Dates are whole days in the console's time zone: a session started at 00:30 local time (the
evening before, in UTC) is filed under its local day.

A page is found in one of two ways. One pass over the search indexes reads the ids of at
most ``COUNT_CAP`` + 1 matches: if that is all of them, they are sorted by their keys alone
(not whole rows) and only the page's rows are read; if there are more, the page is read
newest first from the start-time index, filtered, which is quick precisely because matches
are many. The total beyond the cap is shown as "more than".
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from evidence_store.errors import UsageError
from evidence_store.index.schema import SessionRow, search_table
from evidence_store.index.search_text import search_key
from evidence_store.index.summary import SessionSummary
from evidence_store.timefmt import format_utc

COUNT_CAP = 1000  # matches counted exactly up to here; beyond, "more than"
TRIGRAM = 3  # the shortest text the SQLite trigram table can look up


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{field}: not a date (YYYY-MM-DD): {text[:20]!r}") from None


@dataclass(frozen=True)
class SessionSearch:
    """What to look for. Text fields match anywhere in their column, whatever the case and
    the diacritics; dates are whole days, ``YYYY-MM-DD``, both included, in ``timezone``."""

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
    timezone: str = "UTC"

    def conditions(self, dialect: str, *, scan: bool = False) -> list[ColumnElement[bool]]:
        """The conditions, for a database of ``dialect`` (UsageError for a bad date or zone).
        With ``scan``, as filters on rows read newest first, not as index lookups: a
        database offered an index for them would read every match and sort them all."""
        found: list[ColumnElement[bool]] = []
        if self.units is not None:
            unit = (SessionRow.unit + "") if scan else SessionRow.unit  # || '': no index
            scope: ColumnElement[bool] = unit.in_(list(self.units))
            if self.unit_of_unassigned is not None and self.unit_of_unassigned in self.units:
                scope = or_(scope, SessionRow.unit.is_(None))
                if self.known_units is not None:
                    scope = or_(scope, unit.not_in(list(self.known_units)))
            found.append(scope)
        for column, value in (
            (SessionRow.case_key, self.case_number),
            (SessionRow.accused_key, self.accused),
            (SessionRow.room_key, self.room),
            (SessionRow.investigators_key, self.investigator),
        ):
            if key := search_key(value):
                found.append(_contains(column, key, "" if scan else dialect))
        if self.date_from:
            found.append(SessionRow.started_at >= self._utc_start_of(_day(self.date_from, "from")))
        if self.date_to:
            after = _day(self.date_to, "to") + timedelta(days=1)
            found.append(SessionRow.started_at < self._utc_start_of(after))
        return found

    def _utc_start_of(self, day: date) -> str:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {self.timezone!r}") from None
        return format_utc(datetime.combine(day, time(0), tzinfo=zone))


def _contains(column: InstrumentedAttribute[str], key: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite" and len(key) >= TRIGRAM:
        phrase = '"' + key.replace('"', '""') + '"'  # one FTS5 phrase: the text as typed
        indexed = search_table.c[column.key]
        return SessionRow.id.in_(select(search_table.c.rowid).where(indexed.op("MATCH")(phrase)))
    return column.contains(key, autoescape=True)


@dataclass(frozen=True)
class SessionPage:
    """One page of a search, newest first. ``total`` stops at ``COUNT_CAP``; ``more`` says
    there are more matches than that."""

    items: list[SessionSummary]
    page: int
    per_page: int
    total: int
    more: bool = False

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (self.more and len(self.items) == self.per_page)

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


NEWEST_FIRST = (SessionRow.started_at.desc().nulls_last(), SessionRow.session_id)


def page_rows(
    session: Session, search: SessionSearch, dialect: str, *, page: int, per_page: int
) -> tuple[list[SessionRow], int, bool]:
    """The rows of the ``page``-th page (from 1), the capped count, and whether there are
    more matches than the cap."""
    conditions = search.conditions(dialect)
    where = and_(*conditions) if conditions else true()
    offset = (page - 1) * per_page
    # One pass over the indexes (covering: ids only): at most COUNT_CAP + 1 matches.
    ids = list(session.scalars(select(SessionRow.id).where(where).limit(COUNT_CAP + 1)))
    if len(ids) <= COUNT_CAP:  # few: all of them are here; sort their keys, read one page
        wanted = list(
            session.scalars(
                select(SessionRow.id)
                .where(SessionRow.id.in_(ids))
                .order_by(*NEWEST_FIRST)
                .offset(offset)
                .limit(per_page)
            )
        )
        found = {
            row.id: row
            for row in session.scalars(select(SessionRow).where(SessionRow.id.in_(wanted)))
        }
        return [found[i] for i in wanted if i in found], len(ids), False
    # many: newest first from the start-time index, until the page is full
    query = select(SessionRow).where(and_(true(), *search.conditions(dialect, scan=True)))
    rows = session.scalars(query.order_by(*NEWEST_FIRST).offset(offset).limit(per_page))
    return list(rows), COUNT_CAP, True
