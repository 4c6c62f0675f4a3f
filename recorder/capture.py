"""A capture thread: reads one device as fast as it delivers, into a bounded queue.

The queue decouples the device from the encoder: a slow moment in the encoder costs queued
memory, not lost frames, up to the bound; past it, new items are dropped and counted (the
encoder fills the gap on the timeline, so sound and picture stay in step).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from hardware import HardwareError

READ_TIMEOUT_SECONDS = 0.1  # how often a blocked read looks at the stop flag
REOPEN_DELAY_SECONDS = 1.0  # before the first attempt to reopen a device that failed
REOPEN_DELAY_MAX_SECONDS = 8.0  # the delay doubles per failed attempt, up to this


class Captured(Protocol):
    @property
    def captured_ns(self) -> int: ...


Item = TypeVar("Item", bound=Captured)


def reopen_delay(failures: int) -> float:
    """Seconds before reopen attempt number ``failures + 1``: exponential backoff, so a camera
    that is gone for good is not hammered, and one that comes back is found within seconds."""
    return min(REOPEN_DELAY_MAX_SECONDS, REOPEN_DELAY_SECONDS * 2.0 ** min(failures, 16))


class Capture(Generic[Item]):
    """Runs ``read`` in a daemon thread and queues what it returns.

    A ``HardwareError`` from the device is kept in ``last_error`` (the encoder reports the
    device lost when its data stops) and the device is reopened after a backoff. Any other
    exception ends the thread and is kept in ``failure`` for the encoder to raise. Every item
    queued sets ``arrived`` (shared by a room's captures, so one wait covers all devices).
    """

    def __init__(
        self,
        *,
        name: str,
        read: Callable[[float], Item | None],
        reopen: Callable[[], None],
        capacity: int,
        arrived: threading.Event | None = None,
        observe: Callable[[Item], None] | None = None,
    ) -> None:
        self.name = name
        self.queue: queue.Queue[Item] = queue.Queue(maxsize=capacity)
        self.arrived = arrived or threading.Event()
        # Written by the capture thread only; read anywhere (single int/str stores).
        self.received = 0
        self.dropped = 0
        self.last_captured_ns: int | None = None
        self.last_error: str | None = None
        self.failure: BaseException | None = None
        self._read = read
        self._reopen = reopen
        self._observe = observe
        self._failures = 0  # consecutive reopen attempts that did not bring data back
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"capture-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; it does within ``READ_TIMEOUT_SECONDS`` of a device read."""
        self._stopping.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    item = self._read(READ_TIMEOUT_SECONDS)
                except HardwareError as exc:
                    if self._stopping.is_set():
                        return
                    self.last_error = str(exc)
                    self._try_reopen()
                    continue
                if item is None:
                    continue
                self._failures = 0
                self.last_error = None
                self.received += 1
                self.last_captured_ns = item.captured_ns
                if self._observe is not None:
                    self._observe(item)
                try:
                    self.queue.put_nowait(item)
                except queue.Full:
                    self.dropped += 1
                self.arrived.set()
        except BaseException as exc:  # surfaced by the encode loop, never swallowed
            self.failure = exc
            self.arrived.set()

    def _try_reopen(self) -> None:
        delay = reopen_delay(self._failures)
        self._failures += 1
        if self._stopping.wait(delay):
            return
        try:
            self._reopen()
        except HardwareError as exc:
            self.last_error = str(exc)
