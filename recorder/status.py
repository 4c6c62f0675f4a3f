"""What the recorder reports: its state and counters, written by one thread, read by any."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum


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
    frames_dropped: int  # frames the camera delivered that are not in the recording
    frames_filled: int  # frame slots with no camera frame (repeated or black picture)
    silence_filled_seconds: float  # audio with no microphone samples
    lost_devices: tuple[str, ...]
    error: str | None = None


class StatusBoard:
    """The recorder's live counters. Every change wakes ``wait``-ers (progress, wait_until)."""

    def __init__(self, *, fps: int, sample_rate: int) -> None:
        self._fps = fps
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

    def count(self, *, frames: int = 0, segments: int = 0, dropped: int = 0, filled: int = 0,
              silence: int = 0) -> None:
        with self._changed:
            self._media_frames += frames
            self._segments_sealed += segments
            self._frames_dropped += dropped
            self._frames_filled += filled
            self._silence_samples += silence
            self._changed.notify_all()

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

    def snapshot(self, *, capture_dropped: int = 0) -> RecorderStatus:
        with self._changed:
            return RecorderStatus(
                state=self._state,
                media_seconds=self._media_frames / self._fps,
                segments_sealed=self._segments_sealed,
                frames_dropped=self._frames_dropped + capture_dropped,
                frames_filled=self._frames_filled,
                silence_filled_seconds=self._silence_samples / self._sample_rate,
                lost_devices=tuple(self._lost),
                error=None if self._failure is None else describe_failure(self._failure),
            )


def describe_failure(exc: BaseException) -> str:
    """One line for a person: the error, and its cause when that adds something."""
    cause = exc.__cause__
    return f"{exc}: {cause}" if cause is not None and str(cause) not in str(exc) else str(exc)
