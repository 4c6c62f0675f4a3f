"""Diagram conversions wait their turn: at most ``[console] diagram_conversions`` (2 by
default) run at once in a console process, each in its own child with a memory cap
(``web.diagrams.worker``), so a burst of uploads costs at most that many children's memory.
A bounded number more wait; beyond that, or after waiting too long, an upload is refused as
busy (503, try again), never queued without end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from web.diagrams.limits import Rejected

WAITING_PER_SLOT = 4  # uploads that may wait for each conversion slot
BUSY = "busy"


class ConversionQueue:
    def __init__(self, at_once: int, waiting: int | None = None) -> None:
        self.at_once = at_once
        self.max_waiting = waiting if waiting is not None else at_once * WAITING_PER_SLOT
        self._slots = threading.BoundedSemaphore(at_once)
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        self.most_running = 0  # the highest number that ran at once (for tests and operators)

    @contextmanager
    def turn(self, timeout: float) -> Iterator[None]:
        """Hold a conversion slot for the ``with`` block; Rejected("busy") if the queue is
        full or no slot frees within ``timeout`` seconds."""
        if not self._slots.acquire(blocking=False):  # no free slot: wait, if there is room
            with self._lock:
                if self._waiting >= self.max_waiting:
                    raise Rejected(BUSY)
                self._waiting += 1
            try:
                got = self._slots.acquire(timeout=timeout)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not got:
                raise Rejected(BUSY)
        with self._lock:
            self._running += 1
            self.most_running = max(self.most_running, self._running)
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()
