"""Real-time pacing for the paced sources (synthetic, file): item ``i`` is due at
``start + i * period``.

Scheduling against the start time, never by sleeping a fixed period, is what keeps the sources
free of drift: a late wake-up delays one item, not every item after it.
"""

from __future__ import annotations

import threading

from hardware.clock import MONOTONIC, NS_PER_SECOND, Clock
from hardware.errors import HardwareError


class RealTimeSchedule:
    """Due times of items produced at ``items_per_second_num / items_per_second_den`` per second.

    The rate is a fraction so that e.g. 960-sample chunks at 48 kHz (50 per second) and 30 fps
    are both exact in integer nanoseconds, with no rounding carried from one item to the next.
    Times are on ``clock`` (real time unless a test speeds it up).
    """

    def __init__(self, rate_num: int, rate_den: int = 1, *, clock: Clock = MONOTONIC) -> None:
        if rate_num <= 0 or rate_den <= 0:
            raise ValueError("the rate must be positive")
        self._rate_num = rate_num
        self._rate_den = rate_den
        self._clock = clock
        self._start_ns: int | None = None
        self._closed = threading.Event()

    @property
    def started(self) -> bool:
        return self._start_ns is not None

    @property
    def clock(self) -> Clock:
        return self._clock

    def start(self, now_ns: int | None = None) -> None:
        """Item 0 is due now (or at ``now_ns``)."""
        self._start_ns = self._clock.now_ns() if now_ns is None else now_ns
        self._closed.clear()

    def stop(self) -> None:
        """Wake any waiter; ``wait_for`` returns False from now on."""
        self._closed.set()

    def due_ns(self, index: int) -> int:
        """When item ``index`` is due, on the schedule's clock."""
        if self._start_ns is None:
            raise HardwareError("the device is not open")
        return self._start_ns + index * NS_PER_SECOND * self._rate_den // self._rate_num

    def wait_for(self, index: int, timeout: float | None) -> bool:
        """Block until item ``index`` is due. False on timeout (seconds of the schedule's
        clock) or when stopped first."""
        due = self.due_ns(index)
        if self._closed.is_set():
            return False
        if timeout is not None:
            deadline = self._clock.now_ns() + int(timeout * NS_PER_SECOND)
            if deadline < due:
                self._clock.wait(self._closed, deadline)
                return False
        return not self._clock.wait(self._closed, due)
