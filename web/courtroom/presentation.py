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
- a change made by another process (console replicas behind nginx) wakes them through
  PostgreSQL ``LISTEN``/``NOTIFY`` (``web.courtroom.listener``);
- every stream also re-reads the version from the database every ``POLL_SECONDS`` while no
  notifications arrive (SQLite, or a database restarting), and every
  ``LISTENING_POLL_SECONDS`` while they do, so a change is never missed for long;
- a comment line every ``[console] stream_keepalive_seconds`` (15) keeps proxies from
  closing an idle stream and lets waitress notice a closed browser (a write to it fails)
  and free the thread;
- at most ``MAX_STREAMS`` streams are open at once in a process, so screens can never take
  every thread of the server; and, counted in the database by every process alike
  (``web.courtroom.slots``), at most ``MAX_STREAMS_PER_USER`` belong to one user and
  ``MAX_STREAMS_PER_UNIT`` to the people of one unit, so neither one presenter opening many
  court-screen tabs nor one unit's courtrooms can shut out another's, on any replica; one
  more is answered 503 and the screen tries again shortly.
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
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from web.courtroom.listener import CHANNEL, ChangeListener
from web.courtroom.slots import SharedSlots
from web.extensions import db
from web.models import PresentationState
from web.settings import ConsoleSettings

STREAM_SECONDS = 240.0
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
LISTENING_POLL_SECONDS = 5.0  # notifications do the work; this only bounds a missed one
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
SHARED_SLOTS_KEY = "sealroom.presentation.shared_slots"
LISTENER_KEY = "sealroom.presentation.listener"

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
        self._generation = 0

    def announce(self, hearing_id: int, version: int) -> None:
        with self._condition:
            self._versions[hearing_id] = max(version, self._versions.get(hearing_id, -1))
            self._condition.notify_all()

    def wake_all(self) -> None:
        """Every stream re-reads its state now (after notifications may have been missed)."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, hearing_id: int, known: int, timeout: float) -> None:
        """Until a version newer than ``known`` is announced, ``wake_all``, or ``timeout``
        seconds."""
        with self._condition:
            generation = self._generation
            self._condition.wait_for(
                lambda: (
                    self._versions.get(hearing_id, -1) > known or self._generation != generation
                ),
                timeout=max(0.0, timeout),
            )


def notifier(app: Flask) -> Notifier:
    found: Notifier = app.extensions.setdefault(NOTIFIER_KEY, Notifier())
    return found


def listening(app: Flask, engine: Engine) -> bool:
    """Whether changes from other processes arrive as notifications now; the first call
    starts this process's listener (PostgreSQL, unless turned off)."""
    settings: ConsoleSettings | None = app.config.get("SEALROOM_SETTINGS")
    if engine.dialect.name != "postgresql" or (settings and not settings.database_notifications):
        return False
    with _LISTENER_LOCK:
        listener: ChangeListener | None = app.extensions.get(LISTENER_KEY)
        if listener is None:
            wake = notifier(app)
            listener = ChangeListener(engine, wake.announce, wake.wake_all).start()
            app.extensions[LISTENER_KEY] = listener
    return listener.connected.is_set()


_LISTENER_LOCK = threading.Lock()


class ProcessSlots:
    """This process's stream slots: they bound its threads, so they are counted here."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open = 0

    def take(self) -> Callable[[], None] | None:
        """A slot: its release function (safe to call more than once), or None."""
        with self._lock:
            if self._open >= self.limit:
                return None
            self._open += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self._open -= 1

        return release


def stream_slot(app: Flask, user_id: int, unit: str) -> Callable[[], None] | None:
    """Take a stream slot for ``user_id`` of ``unit``: one of this process's, and one of the
    user's and the unit's shares counted in the database across every process. Its release
    function, or None if any of them is used up."""
    process: ProcessSlots = app.extensions.setdefault(
        SLOTS_KEY, ProcessSlots(int(app.config.get(MAX_STREAMS_KEY, MAX_STREAMS)))
    )
    shared: SharedSlots = app.extensions.setdefault(SHARED_SLOTS_KEY, SharedSlots(db.engine))
    release_thread = process.take()
    if release_thread is None:
        return None
    slot = shared.take(
        user_id,
        unit,
        per_user=int(app.config.get(MAX_STREAMS_PER_USER_KEY, MAX_STREAMS_PER_USER)),
        per_unit=int(app.config.get(MAX_STREAMS_PER_UNIT_KEY, MAX_STREAMS_PER_UNIT)),
    )
    if slot is None:
        release_thread()
        return None

    def release() -> None:
        shared.release(slot)
        release_thread()

    return release


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
                if db.engine.dialect.name == "postgresql":  # delivered on commit, to all
                    db.session.execute(
                        text("SELECT pg_notify(:channel, :change)"),
                        {"channel": CHANNEL, "change": f"{hearing_id}:{version + 1}"},
                    )
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
    settings: ConsoleSettings | None = app.config.get("SEALROOM_SETTINGS")
    keepalive = settings.stream_keepalive_seconds if settings else KEEPALIVE_SECONDS
    started = time.monotonic()
    deadline = started + lifetime
    next_keepalive = started + keepalive
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
            next_keepalive = moment + keepalive
        poll = LISTENING_POLL_SECONDS if listening(app, engine) else POLL_SECONDS
        wake.wait(hearing_id, known, timeout=min(poll, deadline - moment, next_keepalive - moment))


def last_seen_version(header: str | None, query: str | None) -> int | None:
    """The version the client already shows: Last-Event-ID on a reconnect, else ?since=."""
    for value in (header, query):
        if value is not None and value.strip().isdigit():
            return int(value.strip())
    return None
