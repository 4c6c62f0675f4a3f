"""Which picture of each camera goes into each frame of the recording: the pure decisions.

The recording's frame slot ``k`` of a run stands for the instant ``origin + k / fps``. A
camera's picture belongs to slot ``k`` when it was captured within half a frame of that
instant. So each camera is resampled to the recording's rate by capture time, whatever its
own rate, and two cameras opened at different moments still show the same instant side by
side. For each slot and camera the choice is:

- **fresh**: a picture captured within half a frame of the slot;
- **repeat**: none, but the camera has already delivered a later one (it skipped a frame) and
  its last picture is recent: show that again;
- **no signal**: the camera is lost (silent for the device timeout), or has not delivered
  its first picture yet (an IP camera needs a second or two to connect and reach a keyframe;
  it is reported lost only if it has not started within ``start_grace_ns``);
- **wait**: none yet, and it may still come: the slot is not made until the camera delivers
  or its timeout passes. Normally a slot is made as soon as every live camera has its picture.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from hardware import Image, VideoFrame


class Choice(Enum):
    FRESH = "fresh"
    REPEAT = "repeat"
    NO_SIGNAL = "no signal"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Pick:
    choice: Choice
    image: Image | None = None
    lost_now: bool = False  # the camera has just been found silent past its timeout


@dataclass(frozen=True, slots=True)
class SlotTiming:
    """Where slot ``k`` is on the clock and how long a camera may keep it waiting."""

    slot_ns: int
    half_frame_ns: int
    timeout_ns: int
    now_ns: int
    until_ns: int | None = None  # pictures captured from this moment on are not in the run
    start_grace_ns: int = 0  # how long a camera may take to deliver its first picture


class CameraFeed:
    """One camera's pictures waiting for their slot. Used by the encode thread only."""

    def __init__(self, name: str, *, capacity: int) -> None:
        self.name = name
        self.capacity = capacity
        self.late = 0  # pictures that arrived after their slot was made, or overflowed
        self._waiting: deque[VideoFrame] = deque()
        self._held: VideoFrame | None = None  # the last picture taken out for a slot
        self._floor_ns = 0  # the run's start: earlier pictures are not part of it
        self._made_until_ns = 0  # pictures before this were due in slots already made

    def begin_run(self, requested_ns: int) -> None:
        self._waiting.clear()
        self._held = None
        self._floor_ns = self._made_until_ns = requested_ns

    @property
    def started(self) -> bool:
        """The camera has delivered a picture in this run (before that it is joining)."""
        return self._held is not None or bool(self._waiting)

    @property
    def first_captured_ns(self) -> int | None:
        return self._waiting[0].captured_ns if self._waiting else None

    def push(self, frame: VideoFrame) -> bool:
        """Queue a picture; False if it cannot be shown (before the run, or too late)."""
        if frame.captured_ns < self._floor_ns:
            return False
        out_of_order = bool(self._waiting) and frame.captured_ns <= self._waiting[-1].captured_ns
        if frame.captured_ns < self._made_until_ns or out_of_order:
            self.late += 1
            return False
        if len(self._waiting) >= self.capacity:
            self._waiting.popleft()
            self.late += 1
        self._waiting.append(frame)
        return True

    def pick(self, timing: SlotTiming, *, lost: bool) -> Pick:
        """The picture for the slot at ``timing.slot_ns`` (see the module docstring).
        Asking again for the same slot gives the same answer unless pictures arrived."""
        t = timing
        window_end = t.slot_ns + t.half_frame_ns
        limit = window_end if t.until_ns is None else min(window_end, t.until_ns)
        while self._waiting and self._waiting[0].captured_ns < limit:
            self._held = self._waiting.popleft()
        held = self._held
        if held is not None and held.captured_ns >= t.slot_ns - t.half_frame_ns:
            return Pick(Choice.FRESH, held.image)
        if lost:
            return Pick(Choice.NO_SIGNAL)
        silent_since = held.captured_ns if held is not None else self._floor_ns
        allowed = t.timeout_ns if held is not None else max(t.timeout_ns, t.start_grace_ns)
        if self._waiting:  # it moved on past this slot: a skipped frame, or a gap
            if held is not None and t.slot_ns - held.captured_ns < t.timeout_ns:
                return Pick(Choice.REPEAT, held.image)
            return Pick(Choice.NO_SIGNAL, lost_now=t.slot_ns - silent_since >= allowed)
        if t.now_ns >= t.slot_ns + t.timeout_ns:  # it keeps the picture waiting no longer
            return Pick(Choice.NO_SIGNAL, lost_now=t.now_ns - silent_since >= allowed)
        return Pick(Choice.WAIT)

    def made(self, slot_ns: int, half_frame_ns: int) -> None:
        """The slot at ``slot_ns`` is made: later arrivals for it are late."""
        self._made_until_ns = max(self._made_until_ns, slot_ns + half_frame_ns)
