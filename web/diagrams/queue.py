"""Diagram conversions take turns: at most ``[console] diagram_conversions`` (2 by default)
run at once in a console process, each in its own child with a memory cap
(``web.diagrams.worker``), so a burst of uploads costs at most that many children's memory.
An upload that finds every slot taken is refused at once as busy (503, try again): none
waits, because a waiting upload holds one of the console's few request threads, and a burst
of them would leave none for anyone else."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from web.diagrams.limits import Rejected

BUSY = "busy"


class ConversionQueue:
    def __init__(self, at_once: int) -> None:
        self.at_once = at_once
        self._slots = threading.BoundedSemaphore(at_once)
        self._lock = threading.Lock()
        self._running = 0
        self.most_running = 0  # the highest number that ran at once (for tests and operators)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold a conversion slot for the ``with`` block; Rejected("busy") at once if none
        is free."""
        if not self._slots.acquire(blocking=False):
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
