"""The session clock of a passthrough recording, and the stretches (runs) it is recorded in.

Session time is microseconds on the session's media timeline, pauses excluded, as the chain
counts it. A *run* is a stretch between a start (or resume) and a pause (or stop): it began at
``origin_ns`` on the recorder's clock, which is session time ``offset_us``. Every track puts
its media on this one clock by capture time, whatever the devices' own clocks say.

Ending a run is a handshake: the recorder sets ``until_ns``, each track seals what it holds
of media captured before that instant and says it is done; only then is the pause or the
stop written, so the chain's order is the media's order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

NS_PER_US = 1000


@dataclass
class Run:
    """One stretch of recording; the tracks read it, the recorder ends it."""

    origin_ns: int  # the recorder's clock when the run began: media before it is not recorded
    offset_us: int  # the session time of that instant
    until_ns: int | None = None  # set to end the run: media from this instant on is not in it
    _done: set[str] = field(default_factory=set)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def session_us(self, captured_ns: int) -> int:
        """Where media captured at ``captured_ns`` lies on the session's timeline."""
        return self.offset_us + (captured_ns - self.origin_ns) // NS_PER_US

    def includes(self, captured_ns: int) -> bool:
        until = self.until_ns
        return captured_ns >= self.origin_ns and (until is None or captured_ns < until)

    def ending(self) -> bool:
        return self.until_ns is not None

    def end(self, at_ns: int) -> None:
        with self._changed:
            self.until_ns = max(at_ns, self.origin_ns)
            self._changed.notify_all()

    def finished(self, track: str) -> None:
        """``track`` has sealed all it holds of this run."""
        with self._changed:
            self._done.add(track)
            self._changed.notify_all()

    def is_finished(self, track: str) -> bool:
        with self._changed:
            return track in self._done

    def wait_finished(self, tracks: set[str], timeout: float) -> set[str]:
        """Wait until every track in ``tracks`` has finished; returns those that have not."""
        with self._changed:
            self._changed.wait_for(lambda: tracks <= self._done, timeout)
            return tracks - self._done
