"""A device whose blocking I/O (OpenCV, PyAV) runs in a thread of its own.

FFmpeg and OpenCV objects may not be closed by one thread while another reads them: that is a
use-after-free, not an exception. So every library call of a device happens in its own reader
thread, which opens the library object, reads items into a small buffer and closes the object
itself. ``read`` only takes from the buffer and ``close`` only asks the thread to end, so both
are safe from any thread, and ``close`` wakes a blocked ``read``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from hardware.errors import HardwareError

Item = TypeVar("Item")

DEFAULT_OPEN_TIMEOUT_SECONDS = 10.0
JOIN_TIMEOUT_SECONDS = 5.0


class ThreadedDevice(Generic[Item]):
    """Subclasses implement ``_connect`` (open the library object, raise ``HardwareError`` if
    it cannot be), ``_items`` (yield items until the device fails or ``_stopping`` is set) and
    ``_disconnect``; all three run in the reader thread only.

    ``live`` devices drop their oldest item when the buffer is full (a camera does not wait for
    its reader); others (files) block the reader thread instead.
    """

    def __init__(
        self,
        name: str,
        *,
        buffer: int,
        live: bool,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT_SECONDS,
    ) -> None:
        self._name = name
        self._capacity = max(1, buffer)
        self._live = live
        self._open_timeout = open_timeout
        self._items_ready: deque[Item] = deque()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._opened = False  # the library object opened (it may have failed since)
        self._closed = False  # close() was called after a successful open()
        self.overflowed = 0  # items dropped because the reader of the device fell behind

    @property
    def name(self) -> str:
        return self._name

    def open(self) -> None:
        """Start the reader thread and wait until the device delivers or fails to open."""
        if self._thread is not None and self._thread.is_alive():
            raise HardwareError(f"{self._name} is already open")
        self._stopping.clear()
        self._connected.clear()
        with self._changed:
            self._items_ready.clear()
            self._error = None
            self._opened = self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"device-{self._name}", daemon=True)
        self._thread.start()
        self._connected.wait(self._open_timeout)
        with self._changed:
            error, opened = self._error, self._opened
        # A device that opened and failed before this thread woke is open: its items and then
        # its failure are read like any other's. Only a device that never opened is refused.
        if not opened:
            self.close()
            raise HardwareError(error or f"{self._name}: no answer within {self._open_timeout:g} s")

    def read(self, timeout: float | None = None) -> Item | None:
        """The next item; None if none within ``timeout`` seconds. Raises ``HardwareError``
        once the device has failed and everything it delivered before has been read."""
        with self._changed:
            if self._thread is None:
                if self._closed:
                    return None  # a read racing close() ends like one that close() woke
                raise HardwareError(f"{self._name} is not open")
            self._changed.wait_for(self._readable, timeout)
            if self._items_ready:
                item = self._items_ready.popleft()
                self._changed.notify_all()  # room in the buffer for a blocked file reader
                return item
            if self._error is not None:
                raise HardwareError(self._error)
            return None

    def close(self) -> None:
        """End the reader thread (it closes the library object) and wait for it briefly."""
        self._stopping.set()
        with self._changed:
            self._closed = self._opened
            self._changed.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_TIMEOUT_SECONDS)

    # -- for subclasses ----------------------------------------------------------------------

    def _connect(self) -> None:
        raise NotImplementedError

    def _items(self) -> Iterator[Item]:
        raise NotImplementedError

    def _disconnect(self) -> None:
        raise NotImplementedError

    # -- the reader thread -------------------------------------------------------------------

    def _readable(self) -> bool:
        return bool(self._items_ready) or self._error is not None or self._stopping.is_set()

    def _run(self) -> None:
        try:
            self._connect()
        except HardwareError as exc:
            self._fail(str(exc))
            return
        with self._changed:
            self._opened = True
        try:
            self._connected.set()
            for item in self._items():
                if self._stopping.is_set() or not self._push(item):
                    break
            else:
                if not self._stopping.is_set():
                    raise HardwareError(f"{self._name}: the device stopped delivering")
        except HardwareError as exc:
            self._fail(str(exc))
        finally:
            try:
                self._disconnect()
            except HardwareError as exc:
                self._fail(str(exc))
            self._connected.set()  # an open() still waiting sees the error at once

    def _push(self, item: Item) -> bool:
        with self._changed:
            if self._live:
                if len(self._items_ready) >= self._capacity:
                    self._items_ready.popleft()
                    self.overflowed += 1
            else:
                self._changed.wait_for(
                    lambda: len(self._items_ready) < self._capacity or self._stopping.is_set()
                )
                if self._stopping.is_set():
                    return False
            self._items_ready.append(item)
            self._changed.notify_all()
        return True

    def _fail(self, message: str) -> None:
        with self._changed:
            if self._error is None:
                self._error = message
            self._changed.notify_all()
        self._connected.set()
