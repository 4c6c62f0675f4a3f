"""Changes made by other console processes, as they happen: PostgreSQL ``LISTEN``.

Every stored change of a presentation sends ``NOTIFY sealroom_presentation, 'hearing:version'``
in its own transaction (so it is delivered on commit, never for a change rolled back). Each
console process that serves court screens keeps one connection listening, and wakes its
streams the moment a notification arrives, whichever replica made the change.

Where notifications are missing (SQLite; a pooler that drops LISTEN, such as PgBouncer in
transaction mode, with ``[console] database_notifications = false``; or while the database
is restarting) the streams poll the state every ``presentation.POLL_SECONDS``. After the
listener (re)connects it wakes every stream once, so nothing missed meanwhile stays missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

log = logging.getLogger("sealroom.courtroom")

CHANNEL = "sealroom_presentation"
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


def conninfo(engine: Engine) -> str:
    """The engine's database as a libpq connection string (for psycopg itself)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeListener:
    """A daemon thread that listens on ``CHANNEL`` and calls ``announce(hearing, version)``;
    ``wake_all()`` after each (re)connection."""

    def __init__(
        self,
        engine: Engine,
        announce: Callable[[int, int], None],
        wake_all: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.announce = announce
        self.wake_all = wake_all
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presentation-listen", daemon=True)

    def start(self) -> ChangeListener:
        self._thread.start()
        return self

    def _run(self) -> None:
        import psycopg  # only on PostgreSQL, where it is the driver

        failures = 0
        while True:
            try:
                with psycopg.connect(conninfo(self.engine), autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    failures = 0
                    self.wake_all()  # whatever changed while nobody listened
                    for note in connection.notifies():
                        self._deliver(note.payload)
            except Exception as exc:
                self.connected.clear()
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                if failures == 1:
                    log.warning("not listening for presentation changes (polling): %s", exc)
                time.sleep(delay)

    def _deliver(self, payload: str) -> None:
        hearing, _sep, version = payload.partition(":")
        if hearing.isdigit() and version.isdigit():
            self.announce(int(hearing), int(version))
