"""What a hearing's audience screen shows, kept in the database, and the live stream of it.

The state is one JSON document per hearing (``PresentationState``) with a ``version`` that
grows by one with every change, so a reloaded audience screen resumes where it was and a
reconnecting one can tell whether it missed anything.

Live updates are server-sent events. The console is served by waitress, a pool of threads,
so each open stream holds one thread:

- a stream lives at most ``STREAM_SECONDS`` and then ends; the browser's EventSource
  reconnects by itself after ``RETRY_MS`` and sends ``Last-Event-ID`` (the last version it
  saw), so nothing is missed and no thread is held forever;
- a change made in this process wakes its streams at once through a ``threading.Condition``;
- every stream also re-reads the version from the database every ``POLL_SECONDS``, so a
  change made by another process (several console processes behind one address) still
  arrives, a little later;
- a comment line every ``KEEPALIVE_SECONDS`` keeps proxies from closing an idle stream and
  lets waitress notice a closed browser (a write to it fails) and free the thread;
- at most ``MAX_STREAMS`` streams are open at once in a process, so screens can never take
  every thread of the server; at most ``MAX_STREAMS_PER_USER`` of them belong to one user and
  ``MAX_STREAMS_PER_UNIT`` to the people of one unit, so neither one presenter opening many
  court-screen tabs nor one unit's courtrooms can shut out another unit's; one more is
  answered 503 and the screen tries again shortly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from web.extensions import db
from web.models import PresentationState

STREAM_SECONDS = 240.0
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
RETRY_MS = 1000
MAX_STREAMS = 8  # of waitress's 16 threads (web/cli.py): the rest keep serving pages
MAX_STREAMS_PER_USER = 4  # a presenter and a court screen, with room for a reload or two
MAX_STREAMS_PER_UNIT = 4  # so two units' courtrooms always find their slots (8 in all)
NOTIFIER_KEY = "sealroom.presentation"
SLOTS_KEY = "sealroom.presentation.slots"
STREAM_SECONDS_KEY = "SEALROOM_PRESENTATION_STREAM_SECONDS"
MAX_STREAMS_KEY = "SEALROOM_PRESENTATION_MAX_STREAMS"
MAX_STREAMS_PER_USER_KEY = "SEALROOM_PRESENTATION_MAX_STREAMS_PER_USER"
MAX_STREAMS_PER_UNIT_KEY = "SEALROOM_PRESENTATION_MAX_STREAMS_PER_UNIT"

State = dict[str, Any]


def empty_state() -> State:
    """Nothing presented: the audience screen is black."""
    return {
        "blank": False,
        "exhibit": None,
        "playback": {"playing": False, "position": 0.0, "at": 0},
        "zoom": None,
        "callouts": [],
    }


def now_ms() -> int:
    return int(time.time() * 1000)


class Notifier:
    """Wakes this process's streams when a hearing's state changes."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[int, int] = {}

    def announce(self, hearing_id: int, version: int) -> None:
        with self._condition:
            self._versions[hearing_id] = max(version, self._versions.get(hearing_id, -1))
            self._condition.notify_all()

    def wait(self, hearing_id: int, known: int, timeout: float) -> None:
        """Until a version newer than ``known`` is announced, or ``timeout`` seconds."""
        with self._condition:
            self._condition.wait_for(
                lambda: self._versions.get(hearing_id, -1) > known, timeout=max(0.0, timeout)
            )


def notifier(app: Flask) -> Notifier:
    found: Notifier = app.extensions.setdefault(NOTIFIER_KEY, Notifier())
    return found


class StreamSlots:
    """The process's stream slots, counted overall, per user and per unit."""

    def __init__(self, limit: int, per_user: int, per_unit: int) -> None:
        self.limit = limit
        self.per_user = per_user
        self.per_unit = per_unit
        self._lock = threading.Lock()
        self._open = 0
        self._by_user: dict[int, int] = {}
        self._by_unit: dict[str, int] = {}

    def take(self, user_id: int, unit: str) -> Callable[[], None] | None:
        """A slot for one of the streams of ``user_id`` (of ``unit``): its release function
        (safe to call more than once), or None if the process, this user or this unit has no
        slot left."""
        with self._lock:
            mine = self._by_user.get(user_id, 0)
            ours = self._by_unit.get(unit, 0)
            if self._open >= self.limit or mine >= self.per_user or ours >= self.per_unit:
                return None
            self._open += 1
            self._by_user[user_id] = mine + 1
            self._by_unit[unit] = ours + 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._open -= 1
                _count_down(self._by_user, user_id)
                _count_down(self._by_unit, unit)

        return release


def _count_down(counts: dict[Any, int], key: Any) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]


def stream_slot(app: Flask, user_id: int, unit: str) -> Callable[[], None] | None:
    """Take one of the process's stream slots for ``user_id`` of ``unit``: its release
    function, or None if all are in use or this user or unit already holds its share."""
    slots: StreamSlots = app.extensions.setdefault(
        SLOTS_KEY,
        StreamSlots(
            int(app.config.get(MAX_STREAMS_KEY, MAX_STREAMS)),
            int(app.config.get(MAX_STREAMS_PER_USER_KEY, MAX_STREAMS_PER_USER)),
            int(app.config.get(MAX_STREAMS_PER_UNIT_KEY, MAX_STREAMS_PER_UNIT)),
        ),
    )
    return slots.take(user_id, unit)


def read_state(engine: Engine, hearing_id: int) -> tuple[int, State]:
    """The hearing's version and state, read on a connection of its own (a stream must not
    keep a transaction, and with it an old snapshot, open between reads)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(PresentationState.version, PresentationState.state).where(
                PresentationState.hearing_id == hearing_id
            )
        ).one_or_none()
    if row is None:
        return 0, empty_state()
    return int(row.version), json.loads(row.state)


def current(hearing_id: int) -> tuple[int, State]:
    return read_state(db.engine, hearing_id)


@dataclass(frozen=True)
class Change:
    """A stored change: the new version and state, and the state it replaced (so custody can
    say what left the screen). ``changed`` is False when the edit kept the state as it was."""

    version: int
    state: State
    previous: State
    changed: bool


def change(hearing_id: int, edit: Callable[[State], State]) -> Change:
    """Apply ``edit`` to the current state and store the result as the next version.

    Optimistic: the update only lands if nobody changed the state meanwhile; otherwise it is
    recomputed from the newer state. ``edit`` must not have side effects, and raises to
    refuse a change (nothing is stored then). An edit that returns the very state it was
    given stores nothing, so a conditional edit ("withdraw it if it is on screen") decides
    on the state it would replace, with no gap for another command to slip into.
    """
    for _attempt in range(20):
        version, state = current(hearing_id)
        updated = edit(state)
        if updated is state:
            return Change(version, state, state, changed=False)
        body = json.dumps(updated, ensure_ascii=False, separators=(",", ":"))
        stamp = datetime.now(UTC).replace(tzinfo=None)
        try:
            if version == 0 and not _exists(hearing_id):
                db.session.execute(
                    insert(PresentationState).values(
                        hearing_id=hearing_id, version=1, state=body, updated_at=stamp
                    )
                )
                landed = True
            else:
                result = db.session.execute(
                    update(PresentationState)
                    .where(
                        PresentationState.hearing_id == hearing_id,
                        PresentationState.version == version,
                    )
                    .values(version=version + 1, state=body, updated_at=stamp)
                )
                landed = result.rowcount == 1  # type: ignore[attr-defined]
            if landed:
                db.session.commit()
                notifier(current_app).announce(hearing_id, version + 1)
                return Change(version + 1, updated, state, changed=True)
            db.session.rollback()
        except IntegrityError:  # another request created the row first: try again
            db.session.rollback()
    raise RuntimeError(f"the presentation of hearing {hearing_id} changes too fast to update")


def _exists(hearing_id: int) -> bool:
    return db.session.get(PresentationState, hearing_id) is not None


def event(version: int, state: State) -> str:
    """One server-sent event: the id is the version (EventSource returns it on reconnect)."""
    payload = json.dumps(
        {"version": version, "server_time": now_ms(), "state": state},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"id: {version}\nevent: state\ndata: {payload}\n\n"


def stream(app: Flask, engine: Engine, hearing_id: int, since: int | None) -> Iterator[str]:
    """The hearing's state as server-sent events: now if the client has not seen this
    version, then on every change, until the stream's lifetime is over. Needs no request
    context (none is kept alive for the stream's minutes)."""
    wake = notifier(app)
    lifetime = float(app.config.get(STREAM_SECONDS_KEY, STREAM_SECONDS))
    started = time.monotonic()
    deadline = started + lifetime
    next_keepalive = started + KEEPALIVE_SECONDS
    known = -1 if since is None else since
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        version, state = read_state(engine, hearing_id)
        if version != known:
            known = version
            yield event(version, state)
        moment = time.monotonic()
        if moment >= deadline:
            return
        if moment >= next_keepalive:
            yield ": keep-alive\n\n"
            next_keepalive = moment + KEEPALIVE_SECONDS
        wake.wait(
            hearing_id,
            known,
            timeout=min(POLL_SECONDS, deadline - moment, next_keepalive - moment),
        )


def last_seen_version(header: str | None, query: str | None) -> int | None:
    """The version the client already shows: Last-Event-ID on a reconnect, else ?since=."""
    for value in (header, query):
        if value is not None and value.strip().isdigit():
            return int(value.strip())
    return None
