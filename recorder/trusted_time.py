"""Trusted time for a room's recordings: what the time-stamp authority is asked, what it
answered, and what that says about the device's clock.

Every head the session writer signs is offered to the ``Stamper``, which queues the session's
start, a head every interval and the seal in the ``tsa`` outbox; a sender thread of this
process sends them and stores each token beside its file. Nothing here ever makes the
recording wait: when the authority is down, requests stay queued on disk and are sent when it
answers again, by this process or the next one that holds the room.

Each token of a session is recorded in the custody log (``time_stamped``): the device's time
in the file, when the request was sent and the authority's time, so the record shows how
late each stamp was. When the authority's time falls outside what the device's clock allows
(``StampRecord.skew_seconds``), it is a ``clock_skew`` alarm, and, while the session is still
being written, a ``clock_skew`` event in its chain: the mark is then signed into the very
record whose times it qualifies, and sealed with it. After the seal, the custody log holds it.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from evidence_store import (
    FilesystemStore,
    SessionStateError,
    SessionWriter,
    SignedHead,
    WallClock,
    utc_now,
)
from evidence_store.custody import CustodyLog
from evidence_store.installation import DataDir
from evidence_store.outbox import Backoff, Outbox, OutboxSender, Route, RouteStatus
from evidence_store.timestamping import (
    TSA_OUTBOX,
    StampDelivery,
    Stamper,
    StampRecord,
    TsaConfig,
    record_stamp,
)

log = logging.getLogger("sealroom.recorder")


class TrustedTime:
    """Stamps a room's sessions through the ``tsa`` outbox of ``data``; see the module's
    docstring. ``clock`` is the device's clock (the session writer's)."""

    def __init__(
        self,
        *,
        data: DataDir,
        store: FilesystemStore,
        config: TsaConfig,
        custody: CustodyLog,
        actor: str,
        role: str,
        clock: WallClock = utc_now,
        backoff: Backoff | None = None,
    ) -> None:
        self.tolerance_seconds = config.timing.tolerance_seconds
        self.custody = custody
        self.actor, self.role = actor, role
        self.outbox = Outbox(data.outbox_root, TSA_OUTBOX)
        delivery = StampDelivery(store, config.client(), clock=clock, on_stamped=self._stamped)
        route = Route(self.outbox, delivery, backoff=backoff or Backoff(initial=1.0, maximum=60.0))
        self.sender = OutboxSender([route])
        self.stamper = Stamper(
            self.outbox,
            interval_seconds=config.timing.interval_seconds,
            wake=self.sender.wake,
        )
        self._open: dict[str, SessionWriter] = {}  # sessions still written: where marks go
        self._lock = threading.Lock()
        self._running = False
        # The newest token's verdict on the device's clock (metrics): how far outside what
        # the tolerance allows (0: the clocks agree), and how many tokens disagreed.
        self.last_skew_seconds = 0.0
        self.skew_alarms = 0

    @classmethod
    def configured(
        cls,
        data: DataDir,
        store: FilesystemStore,
        custody: CustodyLog,
        *,
        actor: str,
        role: str,
        clock: WallClock = utc_now,
    ) -> TrustedTime | None:
        """The installation's trusted time, or None when no authority stamps."""
        config = data.tsa()
        if config is None or not config.stamping:
            return None
        return cls(
            data=data,
            store=store,
            config=config,
            custody=custody,
            actor=actor,
            role=role,
            clock=clock,
        )

    def start(self) -> None:
        """Start sending (what this process queues, and what earlier ones left queued)."""
        if not self._running:
            self.sender.start()
            self._running = True

    def stop(self) -> None:
        """Stop sending. One last pass first sends what the authority takes at once (the
        seal of the session just ended; a pass waits at most one request's timeout, and not
        at all while the route backs off); what it does not take stays queued on disk."""
        self.sender.drain_once()
        if self._running:
            self.sender.stop()
            self._running = False

    def status(self) -> RouteStatus:
        return self.sender.statuses()[0]

    def on_head(self, head: SignedHead) -> None:
        """The session writer's hook (``SessionWriter.start(on_head=...)``)."""
        self.stamper.on_head(head)
        if head.kind == "seal":
            with self._lock:
                self._open.pop(head.session_id, None)

    def watch(self, writer: SessionWriter) -> None:
        """A clock skew found while ``writer``'s session is open is marked in its chain."""
        with self._lock:
            self._open[writer.session_id] = writer

    def _stamped(self, record: StampRecord) -> None:
        """A token arrived (on the sender's thread): record it, and mark a wrong clock in
        the session's chain while it is still being written."""
        reason = record_stamp(
            self.custody,
            record,
            actor=self.actor,
            role=self.role,
            tolerance=self.tolerance_seconds,
        )
        self.last_skew_seconds = record.skew_seconds(self.tolerance_seconds) or 0.0
        self.skew_alarms += reason is not None
        if reason is None or record.session_id is None:
            return
        with self._lock:
            writer = self._open.get(record.session_id)
        if writer is not None:
            # It may have ended meanwhile: then the custody log alone holds the mark.
            with contextlib.suppress(SessionStateError):
                writer.clock_skew(reason)
