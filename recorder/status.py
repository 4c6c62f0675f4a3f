"""What the recorder reports: its state and counters, written by one thread, read by any."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from evidence_store import SealLatency
from recorder.errors import RecorderError, RecorderStateError
from recorder.health import DeviceHealth

log = logging.getLogger("sealroom.recorder")
SEAL_HISTORY = 100_000  # segments whose seal timing is kept (more than 2 days of 2 s segments)


class RecorderState(StrEnum):
    READY = "ready"
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"
    FAILED = "failed"
    CLOSED = "closed"  # abandoned by close() without stop(): the session is not sealed


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """A snapshot of the recorder."""

    state: RecorderState
    media_seconds: float  # recorded media: sealed segments plus the open one
    segments_sealed: int
    frames_dropped: int  # frames the cameras delivered that are not in the recording
    frames_filled: int  # frames with no fresh picture of the main camera (repeat or NO SIGNAL)
    silence_filled_seconds: float  # audio with no microphone samples
    lost_devices: tuple[str, ...]
    error: str | None = None
    devices: tuple[DeviceHealth, ...] = ()  # cameras (main first), then the microphone
    # Real-time headroom: from a segment's last frame (its capture instant) to its seal, and
    # from its first frame to its seal (the longest any media waits unsealed). None: no
    # segment sealed yet.
    last_seal_seconds: float | None = None
    worst_seal_seconds: float | None = None
    worst_capture_to_seal_seconds: float | None = None
    alarm: str | None = None  # why the recorder stopped itself (e.g. the disk is full)


@dataclass(frozen=True, slots=True)
class SealTiming:
    """When a segment's media was captured and when it was sealed, on the recorder's clock."""

    first_frame_ns: int
    last_frame_ns: int
    sealed_ns: int

    @property
    def after_last_frame_seconds(self) -> float:
        return (self.sealed_ns - self.last_frame_ns) / 1e9

    @property
    def capture_to_seal_seconds(self) -> float:
        return (self.sealed_ns - self.first_frame_ns) / 1e9


class StatusBoard:
    """The recorder's live counters. Every change wakes ``wait``-ers (progress, wait_until)."""

    def __init__(
        self,
        *,
        fps: int,
        sample_rate: int,
        on_seal: Callable[[SealTiming], None] | None = None,
    ) -> None:
        self._fps = fps
        self._on_seal = on_seal  # hears of every seal (metrics); must not block
        self._sample_rate = sample_rate
        self._changed = threading.Condition()
        self._state = RecorderState.READY
        self._media_frames = 0
        self._segments_sealed = 0
        self._frames_dropped = 0
        self._frames_filled = 0
        self._silence_samples = 0
        self._lost: dict[str, str] = {}
        self._failure: BaseException | None = None
        self._seals: deque[SealTiming] = deque(maxlen=SEAL_HISTORY)
        self._worst_seal: SealTiming | None = None
        self._worst_wait: SealTiming | None = None
        self._alarm: str | None = None

    @property
    def state(self) -> RecorderState:
        return self._state

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    def set_state(self, state: RecorderState, *, unless: set[RecorderState] | None = None) -> None:
        """Move to ``state``, except from any state in ``unless`` (checked atomically)."""
        with self._changed:
            if unless is None or self._state not in unless:
                self._state = state
            self._changed.notify_all()

    def fail(self, exc: BaseException) -> bool:
        """Record the pipeline's failure; False if one was already recorded (the first wins)."""
        with self._changed:
            if self._failure is not None:
                return False
            self._failure = exc
            self._state = RecorderState.FAILED
            self._changed.notify_all()
            return True

    def alarm(self, reason: str) -> None:
        """Note why the recorder stopped itself; the first alarm wins."""
        with self._changed:
            self._alarm = self._alarm or reason
            self._changed.notify_all()

    def count(
        self,
        *,
        frames: int = 0,
        segments: int = 0,
        dropped: int = 0,
        filled: int = 0,
        silence: int = 0,
    ) -> None:
        with self._changed:
            self._media_frames += frames
            self._segments_sealed += segments
            self._frames_dropped += dropped
            self._frames_filled += filled
            self._silence_samples += silence
            self._changed.notify_all()

    def sealed(self, timing: SealTiming) -> None:
        with self._changed:
            self._seals.append(timing)
            worst, wait = self._worst_seal, self._worst_wait
            if worst is None or timing.after_last_frame_seconds > worst.after_last_frame_seconds:
                self._worst_seal = timing
            if wait is None or timing.capture_to_seal_seconds > wait.capture_to_seal_seconds:
                self._worst_wait = timing
            self._segments_sealed += 1
            self._changed.notify_all()
        if self._on_seal is not None:
            try:
                self._on_seal(timing)
            except Exception:  # a listener never holds up the recording
                log.exception("a seal listener failed")

    def seal_timings(self) -> tuple[SealTiming, ...]:
        with self._changed:
            return tuple(self._seals)

    def is_lost(self, device: str) -> bool:
        return device in self._lost

    def lost(self, device: str, reason: str) -> None:
        with self._changed:
            self._lost[device] = reason
            self._changed.notify_all()

    def restored(self, device: str) -> None:
        with self._changed:
            self._lost.pop(device, None)
            self._changed.notify_all()

    def wait(self, timeout: float) -> None:
        """Block until something changes, or ``timeout`` seconds."""
        with self._changed:
            self._changed.wait(timeout)

    def lost_reason(self, device: str) -> str | None:
        return self._lost.get(device)

    def snapshot(
        self,
        *,
        capture_dropped: int = 0,
        devices: tuple[DeviceHealth, ...] = (),
        media_seconds: float | None = None,
    ) -> RecorderStatus:
        """The status now; ``media_seconds`` overrides the frame count (a passthrough
        recording counts its timeline, not frames it makes)."""
        with self._changed:
            last = self._seals[-1] if self._seals else None
            return RecorderStatus(
                state=self._state,
                media_seconds=(
                    self._media_frames / self._fps if media_seconds is None else media_seconds
                ),
                segments_sealed=self._segments_sealed,
                frames_dropped=self._frames_dropped + capture_dropped,
                frames_filled=self._frames_filled,
                silence_filled_seconds=self._silence_samples / self._sample_rate,
                lost_devices=tuple(self._lost),
                error=None if self._failure is None else describe_failure(self._failure),
                alarm=self._alarm,
                devices=devices,
                last_seal_seconds=None if last is None else last.after_last_frame_seconds,
                worst_seal_seconds=(
                    None if self._worst_seal is None else self._worst_seal.after_last_frame_seconds
                ),
                worst_capture_to_seal_seconds=(
                    None if self._worst_wait is None else self._worst_wait.capture_to_seal_seconds
                ),
            )


def seal_latency(timings: Sequence[SealTiming]) -> SealLatency | None:
    """p50, p99 and worst of the wait from a segment's last frame to its seal."""
    return latency_summary([(t.sealed_ns - t.last_frame_ns) // 1000 for t in timings])


def latency_summary(latencies_us: Sequence[int]) -> SealLatency | None:
    """p50, p99 (nearest rank) and worst of ``latencies_us``; None for none."""
    values = sorted(max(0, value) for value in latencies_us)
    if not values:
        return None

    def rank(fraction: float) -> int:
        return values[min(len(values), max(1, math.ceil(fraction * len(values)))) - 1]

    return SealLatency(p50_us=rank(0.50), p99_us=rank(0.99), worst_us=values[-1])


class Observed(Protocol):
    """A recorder whose status can be waited on."""

    def status(self) -> RecorderStatus: ...


def wait_for_media(
    recorder: Observed,
    board: StatusBoard,
    media_seconds: float,
    *,
    progress: Callable[[float], None] | None,
    timeout: float | None,
    ended: set[RecorderState],
) -> RecorderStatus:
    """Block until ``media_seconds`` of media are recorded (or ``timeout`` seconds pass; the
    status returned then shows less). Raises RecorderError if the recording fails, and
    RecorderStateError if it ends first. See ``SessionRecorder.wait_until``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        status = recorder.status()
        failure = board.failure
        if status.state is RecorderState.FAILED and failure is not None:
            raise RecorderError(f"recording failed: {describe_failure(failure)}") from failure
        if progress is not None:
            progress(status.media_seconds)
        if status.media_seconds >= media_seconds:
            return status
        if status.state in ended:
            why = f": {status.alarm}" if status.alarm else ""
            raise RecorderStateError(f"the recorder is {status.state.value}{why}")
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return status
        board.wait(0.25 if remaining is None else min(0.25, remaining))


def describe_failure(exc: BaseException) -> str:
    """One line for a person: the error, and its cause when that adds something."""
    cause = exc.__cause__
    return f"{exc}: {cause}" if cause is not None and str(cause) not in str(exc) else str(exc)
