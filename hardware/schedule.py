"""Real-time pacing for the synthetic sources: item ``i`` is due at ``start + i * period``.

Scheduling against the start time, never by sleeping a fixed period, is what keeps the sources
free of drift: a late wake-up delays one item, not every item after it.
"""

from __future__ import annotations

import threading
import time

from hardware.errors import HardwareError

NS_PER_SECOND = 1_000_000_000


class RealTimeSchedule:
    """Due times of items produced at ``items_per_second_num / items_per_second_den`` per second.

    The rate is a fraction so that e.g. 960-sample chunks at 48 kHz (50 per second) and 30 fps
    are both exact in integer nanoseconds, with no rounding carried from one item to the next.
    """

    def __init__(self, rate_num: int, rate_den: int = 1) -> None:
        if rate_num <= 0 or rate_den <= 0:
            raise ValueError("the rate must be positive")
        self._rate_num = rate_num
        self._rate_den = rate_den
        self._start_ns: int | None = None
        self._closed = threading.Event()

    @property
    def started(self) -> bool:
        return self._start_ns is not None

    def start(self, now_ns: int | None = None) -> None:
        """Item 0 is due now (or at ``now_ns``)."""
        self._start_ns = time.monotonic_ns() if now_ns is None else now_ns
        self._closed.clear()

    def stop(self) -> None:
        """Wake any waiter; ``wait_for`` returns False from now on."""
        self._closed.set()

    def due_ns(self, index: int) -> int:
        """When item ``index`` is due, on the ``time.monotonic_ns`` clock."""
        if self._start_ns is None:
            raise HardwareError("the device is not open")
        return self._start_ns + index * NS_PER_SECOND * self._rate_den // self._rate_num

    def wait_for(self, index: int, timeout: float | None) -> bool:
        """Block until item ``index`` is due. False on timeout or when stopped first."""
        due = self.due_ns(index)
        deadline = None if timeout is None else time.monotonic_ns() + int(timeout * NS_PER_SECOND)
        while True:
            now = time.monotonic_ns()
            if self._closed.is_set():
                return False
            if now >= due:
                return True
            if deadline is not None and now >= deadline:
                return False
            wake = due if deadline is None else min(due, deadline)
            # Event.wait instead of sleep, so close() from another thread ends the wait at once.
            self._closed.wait((wake - now) / NS_PER_SECOND)
