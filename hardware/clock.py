"""The clock that devices stamp their data with and pace themselves by.

Every device of a room and the recorder that reads them share one clock: capture times are
compared across devices (picture against sound), so they must come from the same source.
Real devices use ``MONOTONIC`` (``time.monotonic_ns``). A ``ScaledClock`` runs faster than
real time, so that the synthetic sources and the recorder can go through a long session in a
fraction of its length: the code path is the same, only the waits are shorter.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

NS_PER_SECOND = 1_000_000_000


class Clock(Protocol):
    """Nanoseconds since an arbitrary origin, never going backwards."""

    def now_ns(self) -> int: ...

    def wait(self, event: threading.Event, until_ns: int) -> bool:
        """Block until the clock reads ``until_ns`` or ``event`` is set; True if it was set."""
        ...


class MonotonicClock:
    """Real time: ``time.monotonic_ns``."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def wait(self, event: threading.Event, until_ns: int) -> bool:
        while True:
            remaining = until_ns - time.monotonic_ns()
            if remaining <= 0:
                return event.is_set()
            # Event.wait rather than sleep, so that setting the event ends the wait at once.
            if event.wait(remaining / NS_PER_SECOND):
                return True


class ScaledClock:
    """A clock that runs ``speed`` times faster than real time, from real time at creation."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("the speed must be positive")
        self.speed = speed
        self._origin = time.monotonic_ns()

    def now_ns(self) -> int:
        return self._origin + round((time.monotonic_ns() - self._origin) * self.speed)

    def wait(self, event: threading.Event, until_ns: int) -> bool:
        while True:
            remaining = until_ns - self.now_ns()
            if remaining <= 0:
                return event.is_set()
            if event.wait(remaining / self.speed / NS_PER_SECOND):
                return True


MONOTONIC = MonotonicClock()
