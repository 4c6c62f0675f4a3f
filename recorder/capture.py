"""A capture thread: reads one device as fast as it delivers, into a bounded queue.

The queue decouples the device from the encoder: a slow moment in the encoder costs queued
memory, not lost frames, up to the bound; past it, new items are dropped and counted (the
encoder fills the gap on the timeline, so sound and picture stay in step).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from hardware.errors import HardwareError

Item = TypeVar("Item")

READ_TIMEOUT_SECONDS = 0.1  # how often a blocked read looks at the stop flag
REOPEN_DELAY_SECONDS = 1.0  # between attempts to reopen a device that failed


class Capture(Generic[Item]):
    """Runs ``read`` in a daemon thread and queues what it returns.

    A ``HardwareError`` from the device is kept in ``last_error`` (the encoder reports the
    device lost when its data stops) and the device is reopened after a pause. Any other
    exception ends the thread and is kept in ``failure`` for the encoder to raise.
    """

    def __init__(self, *, name: str, read: Callable[[float], Item | None],
                 reopen: Callable[[], None], capacity: int) -> None:
        self.name = name
        self.queue: queue.Queue[Item] = queue.Queue(maxsize=capacity)
        self.dropped = 0
        self.last_error: str | None = None
        self.failure: BaseException | None = None
        self._read = read
        self._reopen = reopen
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
                self.last_error = None
                try:
                    self.queue.put_nowait(item)
                except queue.Full:
                    self.dropped += 1  # only this thread writes it
        except BaseException as exc:  # surfaced by the encode loop, never swallowed
            self.failure = exc

    def _try_reopen(self) -> None:
        if self._stopping.wait(REOPEN_DELAY_SECONDS):
            return
        try:
            self._reopen()
        except HardwareError as exc:
            self.last_error = str(exc)
