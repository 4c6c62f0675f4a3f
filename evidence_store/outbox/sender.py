"""Sending what the outboxes hold, on a thread of its own, so that nobody who puts an item
ever waits for the network.

Each route pairs an outbox with a delivery function. A delivery either returns (the item is
delivered and removed), raises ``DeliveryDeferred`` (the destination cannot take it now: the
route backs off and keeps the item, and the items behind it, in order), or raises
``DeliveryRefused`` (the destination will never take it: the item is set aside with the
reason, and the route goes on with the next one).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from evidence_store.errors import SealroomError
from evidence_store.outbox.backoff import Backoff
from evidence_store.outbox.queue import Outbox, OutboxItem

log = logging.getLogger("sealroom.outbox")

BATCH = 100  # items read per pass: a long backlog is worked through in bounded steps
IDLE_SECONDS = 5.0  # how often an idle sender looks for items that another process queued


class DeliveryDeferred(SealroomError):
    """The destination cannot take the item now (down, slow, overloaded): try again later."""


class DeliveryRefused(SealroomError):
    """The destination will never take this item: set it aside for a person to look at."""


Delivery = Callable[[OutboxItem], None]
RefusedHook = Callable[[str, OutboxItem, str], None]


@dataclass
class RouteStatus:
    """What a person (or a metric) needs to know about one destination."""

    destination: str
    delivered: int = 0
    refused: int = 0
    failures: int = 0  # consecutive deferrals since the last delivery
    last_error: str | None = None
    last_delivered_at: float | None = None  # time.time()
    next_attempt_at: float = 0.0  # time.monotonic(); 0: now


@dataclass
class Route:
    outbox: Outbox
    deliver: Delivery
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=1.0, maximum=60.0))
    status: RouteStatus = field(init=False)

    def __post_init__(self) -> None:
        self.status = RouteStatus(self.outbox.destination)


class OutboxSender:
    """Drains its routes on a daemon thread. ``wake()`` after a ``put`` sends at once."""

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        on_refused: RefusedHook | None = None,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.routes = list(routes)
        self._on_refused = on_refused
        self._idle_seconds = idle_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one pass at a time, whether threaded or called
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain_once(self) -> int:
        """One pass over every route whose back-off has passed; returns how many delivered."""
        with self._lock:
            return sum(self._drain(route) for route in self.routes)

    def statuses(self) -> list[RouteStatus]:
        return [route.status for route in self.routes]

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.drain_once()
            except Exception:  # a bug must not end the sender: log it and go on
                log.exception("outbox sender: unexpected failure")
            self._wake.wait(self._seconds_to_next())
            self._wake.clear()

    def _seconds_to_next(self) -> float:
        now = time.monotonic()
        due = [r.status.next_attempt_at - now for r in self.routes if r.status.failures]
        return max(0.05, min([self._idle_seconds, *due]))

    @staticmethod
    def _defer(route: Route, reason: str) -> None:
        route.status.failures += 1
        route.status.last_error = reason
        route.status.next_attempt_at = time.monotonic() + route.backoff.next_delay()

    def _drain(self, route: Route) -> int:
        status = route.status
        if time.monotonic() < status.next_attempt_at:
            return 0
        delivered = 0
        with route.outbox.draining() as mine:
            if not mine:
                return 0
            for item in route.outbox.pending(limit=BATCH):
                if self._stopping.is_set():
                    break
                try:
                    route.deliver(item)
                except DeliveryDeferred as exc:
                    self._defer(route, str(exc))
                    break
                except DeliveryRefused as exc:
                    route.outbox.refuse(item, str(exc))
                    status.refused += 1
                    log.error("%s refused %s: %s", route.outbox.destination, item.id, exc)
                    if self._on_refused is not None:
                        self._on_refused(route.outbox.destination, item, str(exc))
                    continue
                except Exception as exc:  # a bug: keep the item and its order, back off, tell
                    log.exception("%s: delivering %s failed", route.outbox.destination, item.id)
                    self._defer(route, f"internal error: {type(exc).__name__}: {exc}")
                    break
                route.outbox.delivered(item)
                delivered += 1
                status.delivered += 1
                status.failures = 0
                status.last_error = None
                status.last_delivered_at = time.time()
                status.next_attempt_at = 0.0
                route.backoff.reset()
        return delivered
