"""Reading the custody log a page at a time, as one viewer may see it.

The database does the filtering it can (who, what, when, session) and hands back rows by
their ``seq``, newest first, a batch at a time (keyset paging: no OFFSET, so a page deep in a
log of a million rows costs what the first page costs). Which of those rows the viewer may
see is ``web.visibility.EventScope``'s rule, applied to each batch; the page stops once it
has its rows. A viewer who may see few of the rows would otherwise make one request read the
whole log, so a request reads at most ``SCAN_BUDGET`` rows and offers to go on from there.
There is no total: counting what a viewer may see means reading every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from flask_babel import get_timezone

from evidence_store import format_utc
from evidence_store.custody import CustodyEntry, CustodyLog
from web.visibility import EventScope

PAGE_ROWS = 100
BATCH_ROWS = 500
SCAN_BUDGET = 20_000  # rows one page view may read looking for rows its viewer may see
FIELDS = ("actor", "action", "session", "since", "until")


class EntryQuery(TypedDict):
    """The filters as ``CustodyLog.entries`` takes them."""

    actor: str | None
    action: str | None
    session_id: str | None
    since: str | None
    until: str | None


@dataclass(frozen=True)
class Filters:
    """The filters as typed in the page (and kept in its links): who, what, session, and
    the first and last day in the console's time zone."""

    actor: str = ""
    action: str = ""
    session: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def from_args(cls, args: dict[str, str]) -> Filters:
        return cls(**{key: (args.get(key) or "").strip()[:200] for key in FIELDS})

    def as_args(self) -> dict[str, Any]:
        """The filters that are set, for a link that keeps them."""
        return {key: value for key in FIELDS if (value := getattr(self, key))}

    def bad_dates(self) -> list[str]:
        return [value for value in (self.since, self.until) if value and _day(value) is None]

    def query(self) -> EntryQuery:
        """The filters as ``CustodyLog.entries`` takes them: days become UTC bounds from the
        start of the first day to the end of the last, in the console's time zone."""
        first, last = _day(self.since), _day(self.until)
        return {
            "actor": self.actor or None,
            "action": self.action or None,
            "session_id": self.session or None,
            "since": _utc_at(first) if first else None,
            "until": _utc_at(last, end=True) if last else None,
        }


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _utc_at(day: date, *, end: bool = False) -> str:
    """The start (or the last microsecond) of ``day`` in the console's time zone, as a
    stored UTC time. (Through zoneinfo: Babel's pytz zone in ``datetime.combine`` would give
    the zone's first offset in history, seven minutes off for Asia/Ho_Chi_Minh.)"""
    zone = ZoneInfo(str(get_timezone() or "UTC"))
    if end:
        following = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return format_utc(following - timedelta(microseconds=1))
    return format_utc(datetime.combine(day, time(0), tzinfo=zone))


@dataclass(frozen=True)
class Page:
    entries: list[CustodyEntry]  # newest first
    newer: int | None  # read newer rows with ``after=newer``; None: these are the newest
    older: int | None  # read older rows with ``before=older``; None: nothing older matches
    searched_to: int | None  # the scan stopped at this row before the page was full


def read_page(
    log: CustodyLog,
    scope: EventScope,
    filters: Filters,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int | None = None,
) -> Page:
    """The page of ``size`` rows the viewer may see, newest first: the newest, the rows
    older than ``before``, or the rows newer than ``after``."""
    size = size or PAGE_ROWS
    if after is not None:
        found, stopped = _scan(log, scope, filters, after=after, want=size + 1)
        if not found and stopped is None:  # nothing newer: the newest page
            return read_page(log, scope, filters, size=size)
        shown = found[:size]  # oldest first
        newer: int | None = None  # these reach the newest row
        if len(found) > size:
            newer = shown[-1].seq
        elif stopped is not None:  # out of budget: the rows up to ``stopped`` are not theirs
            newer = stopped
        return Page(
            shown[::-1],
            newer=newer,
            older=shown[0].seq if shown else after + 1,
            searched_to=stopped,
        )
    found, stopped = _scan(log, scope, filters, before=before, want=size + 1)
    shown = found[:size]
    if len(found) > size:
        older: int | None = shown[-1].seq
    else:
        older = stopped  # None when the scan reached the first row
    newer = (shown[0].seq if shown else before - 1) if before is not None else None
    return Page(
        shown, newer=newer, older=older, searched_to=stopped if len(found) <= size else None
    )


def _scan(
    log: CustodyLog,
    scope: EventScope,
    filters: Filters,
    *,
    want: int,
    before: int | None = None,
    after: int | None = None,
) -> tuple[list[CustodyEntry], int | None]:
    """Up to ``want`` visible rows from the cursor on (older than ``before``, or newer than
    ``after`` in ascending order), and where the scan stopped if it ran out of budget."""
    found: list[CustodyEntry] = []
    scanned = 0
    newest_first = after is None
    while True:
        batch = log.entries(
            **filters.query(),
            before=before,
            after=after,
            newest_first=newest_first,
            limit=BATCH_ROWS,
        )
        found.extend(scope.visible(batch))
        if len(found) >= want:
            return found[:want], None
        if len(batch) < BATCH_ROWS:
            return found, None
        scanned += len(batch)
        if newest_first:
            before = batch[-1].seq
        else:
            after = batch[-1].seq
        if scanned >= SCAN_BUDGET:
            return found, batch[-1].seq


def every_row(
    log: CustodyLog, scope: EventScope, filters: Filters, *, up_to: int
) -> Iterator[list[CustodyEntry]]:
    """Every row the viewer may see, newest first, up to and including row ``up_to``, a
    batch at a time (for the exports: the whole log is never held in memory)."""
    before = up_to + 1
    while True:
        batch = log.entries(**filters.query(), before=before, newest_first=True, limit=BATCH_ROWS)
        if visible := scope.visible(batch):
            yield visible
        if len(batch) < BATCH_ROWS:
            return
        before = batch[-1].seq
