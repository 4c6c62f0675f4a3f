"""Court-screen stream slots shared by every console process: counted per user and per unit in
the database, so that neither one presenter nor one unit's courtrooms can take every screen
of the installation, however many replicas serve them.

A slot is a row with a lease. The process holding it renews the lease of all its slots
every ``RENEW_SECONDS``; a process that dies (a killed replica) leaves rows that expire after
``LEASE_SECONDS`` and are swept by the next ``take``. On PostgreSQL an advisory lock makes
count-then-insert one step across processes; SQLite serialises writers itself.

What bounds a process's threads (``presentation.MAX_STREAMS``) stays counted in the process:
it is that process's threads it protects.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from web.models import StreamSlot

log = logging.getLogger("sealroom.courtroom")

LEASE_SECONDS = 60.0
RENEW_SECONDS = 15.0
SLOTS_LOCK_KEY = 0x5EA1_0002  # the slots' PostgreSQL advisory lock


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SharedSlots:
    """This process's view of the installation's stream slots."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:100]
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._renewer: threading.Thread | None = None

    def take(self, user_id: int, unit: str, *, per_user: int, per_unit: int) -> str | None:
        """A slot for one stream of ``user_id`` (of ``unit``): its id, or None if the user
        or the unit holds its share already, or the database cannot say."""
        slot = secrets.token_hex(16)
        try:
            with self.engine.begin() as connection:
                if self.engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": SLOTS_LOCK_KEY}
                    )
                now = _now()
                connection.execute(delete(StreamSlot).where(StreamSlot.expires_at < now))
                count = select(func.count()).select_from(StreamSlot)
                mine = connection.scalar(count.where(StreamSlot.user_id == user_id)) or 0
                ours = connection.scalar(count.where(StreamSlot.unit_code == unit)) or 0
                if mine >= per_user or ours >= per_unit:
                    return None
                connection.execute(
                    insert(StreamSlot).values(
                        id=slot,
                        user_id=user_id,
                        unit_code=unit,
                        holder=self.holder,
                        expires_at=now + timedelta(seconds=LEASE_SECONDS),
                    )
                )
        except SQLAlchemyError as exc:  # a database that is restarting: the screen retries
            log.warning("no stream slot: the database cannot be reached (%s)", exc)
            return None
        with self._lock:
            self._held.add(slot)
            if self._renewer is None:
                self._renewer = threading.Thread(
                    target=self._renew_forever, name="stream-slots", daemon=True
                )
                self._renewer.start()
        return slot

    def release(self, slot: str) -> None:
        with self._lock:
            if slot not in self._held:
                return
            self._held.discard(slot)
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(StreamSlot).where(StreamSlot.id == slot))
        except SQLAlchemyError as exc:  # it expires by itself
            log.warning("stream slot %s left to expire: %s", slot, exc)

    def _renew_forever(self) -> None:
        while True:
            time.sleep(RENEW_SECONDS)
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(StreamSlot)
                        .where(StreamSlot.id.in_(held))
                        .values(expires_at=_now() + timedelta(seconds=LEASE_SECONDS))
                    )
            except SQLAlchemyError as exc:  # try again at the next turn
                log.warning("stream slots not renewed: %s", exc)
