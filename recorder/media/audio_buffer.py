"""Audio waiting for its segment: samples placed on a run's timeline by their capture time."""

from __future__ import annotations

import numpy as np

from hardware import Samples
from recorder.media.timeline import Placement, place


class AudioBuffer:
    """Holds a run's samples from ``taken`` up to ``end``; the encoder takes them in order.

    Chunks are appended as they come; a chunk whose timestamp is off by more than
    ``tolerance`` samples is corrected: a gap before it is filled with silence, an overlap
    (typically with silence already filled for a stalled microphone) is cut from its front.
    The very first chunk of a run is placed exactly, so audio starts with the first frame.
    When that first chunk begins after the run's first frame, the microphone simply started
    a moment after the camera: the lead-in is padded to keep sound and picture in step, but
    it is not a missing microphone, so it is not reported as filled silence
    (``Placement.fill`` stays 0; the caller counts it as the wait to join).
    """

    def __init__(self, channels: int, *, tolerance: int) -> None:
        self.channels = channels
        self.tolerance = tolerance
        self.taken = 0
        self.end = 0
        self._pending: list[Samples] = []

    def add(self, samples: Samples, *, slot: int) -> Placement:
        """Append a chunk whose first sample belongs at run sample ``slot``."""
        if self.end == 0 and slot > 0:
            self.fill_silence(slot)  # lead-in: the microphone joined after the run began
            placement = Placement()
        else:
            tolerance = 0 if self.end == 0 else self.tolerance
            placement = place(expected=self.end, slot=slot, tolerance=tolerance)
        if placement.fill:
            self.fill_silence(self.end + placement.fill)
        kept = samples[placement.skip :]
        if len(kept):
            self._pending.append(kept)
            self.end += len(kept)
        return placement

    def fill_silence(self, until: int) -> int:
        """Pad with silence up to run sample ``until``; returns how many samples were added."""
        count = max(0, until - self.end)
        if count:
            self._pending.append(np.zeros((count, self.channels), dtype=np.int16))
            self.end += count
        return count

    def take(self, until: int) -> Samples:
        """Remove and return the samples from ``taken`` up to ``until`` (or ``end``, if less)."""
        wanted = min(until, self.end) - self.taken
        if wanted <= 0:
            return np.zeros((0, self.channels), dtype=np.int16)
        joined = (
            self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending, axis=0)
        )
        out, rest = joined[:wanted], joined[wanted:]
        self._pending = [rest] if len(rest) else []
        self.taken += wanted
        return out
