"""The room's sound track: one microphone (or a camera's own) on the session clock, as AAC.

Its own thread reads the microphone and puts every chunk through a ``ClockFollower``, which
resamples it onto the session clock however fast or slow the device's clock runs, so sound
and pictures stay together for hours. Each correction of the resampling ratio is counted and
recorded in the chain (``clock_corrected``). The samples stream into the open segment's
encoder; a segment is cut every ``segment_seconds`` of session time exactly, so the track's
segments tile its timeline from the run's first sample (the wait before it is counted as
``join_wait_us``, not filled).

A microphone that stops delivering for ``device_timeout_seconds`` is reported lost and its
time filled with silence (counted), as in the composite mode: the sound track has no gaps
while a run lasts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from hardware import AudioChunk, Clock, HardwareError, Microphone, Samples
from recorder.capture import reopen_delay
from recorder.health import AudioMeter
from recorder.media import ClockFollower, SoundEncoder
from recorder.passthrough.camera_track import TrackWriter
from recorder.passthrough.counters import DeviceCounters
from recorder.passthrough.runs import Run
from recorder.passthrough.sidecar import write_start
from recorder.status import SealTiming, StatusBoard

log = logging.getLogger("sealroom.recorder")
POLL_SECONDS = 0.05
NS_PER_SECOND = 1_000_000_000


class SoundWriter(TrackWriter, Protocol):
    def clock_corrected(self, device: str, reason: str) -> None: ...


class SoundTrack:
    """Records ``microphone`` into track ``track_id`` (see the module docstring)."""

    def __init__(
        self,
        *,
        track_id: str,
        microphone: Microphone,
        writer: SoundWriter,
        board: StatusBoard,
        runs: Callable[[], Run | None],
        sample_rate: int,
        channels: int,
        segment_seconds: int,
        bit_rate: int,
        timeout_seconds: float,
        clock: Clock,
    ) -> None:
        self.track_id = track_id
        self.microphone = microphone
        self.name = microphone.name
        self.writer = writer
        self.board = board
        self.counters = DeviceCounters(microphone.name, "microphone", track_id)
        self.meter = AudioMeter(sample_rate)
        self.last_error: str | None = None
        self.last_captured_ns: int | None = None
        self.failure: BaseException | None = None
        self._runs = runs
        self._rate = sample_rate
        self._channels = channels
        self._segment_samples = sample_rate * segment_seconds
        self._bit_rate = bit_rate
        self._timeout_ns = round(timeout_seconds * NS_PER_SECOND)
        self._clock = clock
        self._lock = threading.Lock()
        self._run: Run | None = None
        self._follower: ClockFollower | None = None
        self._ratio = 1.0  # carried from one run to the next
        self._resampled_before = 0  # samples resampled in earlier runs
        self._next: int | None = None  # the run's next sample slot
        self._encoder: SoundEncoder | None = None
        self._segment_start = 0  # slot of the open segment's first sample
        self._index = 0
        self._end_us = 0  # where the last sealed segment ends
        self._last_arrival_ns: int | None = None
        self._lost = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"track-{track_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def lost(self) -> bool:
        return self._lost

    @property
    def end_us(self) -> int:
        """Where the track's sound ends on the session timeline (what it has taken so far)."""
        if self._run is None or self._next is None:
            return self._end_us
        return self._us(self._next)

    def position_us(self, run: Run | None) -> int:
        return self.end_us

    def abandon(self) -> None:
        """Close the open segment's file unsealed: it stays in flight for recovery."""
        with self._lock:
            encoder, self._encoder = self._encoder, None
            if encoder is not None:
                encoder.abort()

    def finish_run(self, run: Run) -> None:
        """Complete the run's sound up to its end (silence for what never came, counted),
        seal it, and say so. Safe from any thread."""
        with self._lock:
            if run.is_finished(self.track_id) or run.until_ns is None:
                return
            if self._run is run and self._next is not None:
                follower = self._follower
                if follower is not None:
                    self._write(follower.flush(), until=self._slot(run.until_ns))
                self._fill(self._slot(run.until_ns))
                self._close_segment()
            run.finished(self.track_id)

    # -- the track's thread ----------------------------------------------------------------------

    def _main(self) -> None:
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    chunk = self.microphone.read(POLL_SECONDS)
                except HardwareError as exc:
                    self.last_error = str(exc)
                    self._stalled(self._clock.now_ns())
                    if self._stopping.wait(reopen_delay(failures)):
                        return
                    failures += 1
                    try:
                        self.microphone.close()
                        self.microphone.open()
                    except HardwareError as again:
                        self.last_error = str(again)
                    continue
                if chunk is not None:
                    failures = 0
                    self.last_error = None
                    self._take(chunk)
                self._stalled(self._clock.now_ns())
                self._end_if_due()
        except BaseException as exc:  # surfaced by the recorder, never swallowed
            self.failure = exc
            log.exception("track %s failed", self.track_id)

    def _take(self, chunk: AudioChunk) -> None:
        self.last_captured_ns = chunk.captured_ns
        self._last_arrival_ns = self._clock.now_ns()
        self.counters.frames_received += 1
        self.meter.observe(chunk)
        with self._lock:
            run = self._current()
            if run is None or self._follower is None:
                return
            if run.until_ns is not None and chunk.captured_ns >= run.until_ns:
                return  # after the run: _end_if_due seals what came before
            placed = self._follower.place(chunk.samples, chunk.captured_ns)
            for correction in placed.corrections:
                self.counters.clock_corrections += 1
                self.writer.clock_corrected(self.name, correction.describe())
            self.counters.samples_cut += placed.cut
            self.counters.samples_resampled = (
                self._resampled_before + self._follower.samples_resampled
            )
            if self._lost:
                self._lost = False
                self.writer.device_restored(self.name)
                self.board.restored(self.name)
            until = None if run.until_ns is None else self._slot(run.until_ns)
            if self._next is None:
                first = max(0, placed.slot)
                self.counters.join_wait_us += first * 1_000_000 // self._rate
                self._next = self._segment_start = first
            self._fill(placed.slot)
            self._write(placed.samples, placed.slot, until=until)

    def _current(self) -> Run | None:
        """The run being recorded; a new one starts the sound afresh on its clock."""
        run = self._runs()
        if run is not self._run:
            if self._follower is not None:
                self._resampled_before += self._follower.samples_resampled
                self._ratio = self._follower.ratio
            self._run = run
            self._next = None
            self._follower = None
            if run is not None:
                self._follower = ClockFollower(
                    self._rate, self._channels, origin_ns=run.origin_ns, ratio=self._ratio
                )
        if run is None or run.is_finished(self.track_id):
            return None
        return run

    def _stalled(self, now_ns: int) -> None:
        """A microphone silent past the timeout is lost: fill silence up to the horizon."""
        with self._lock:
            run = self._current()
            if run is None or self._next is None:
                return
            since = self._last_arrival_ns
            if since is not None and now_ns - since < self._timeout_ns:
                return
            horizon = now_ns - self._timeout_ns
            if run.until_ns is not None:
                horizon = min(horizon, run.until_ns)
            if not self._lost:
                self._lost = True
                reason = self.last_error or f"no sound for {self._timeout_ns / NS_PER_SECOND:g} s"
                self.writer.device_lost(self.name, reason)
                self.board.lost(self.name, reason)
            self._fill(self._slot(horizon))

    def _end_if_due(self) -> None:
        run = self._runs()
        if run is None or run.until_ns is None or run.is_finished(self.track_id):
            return
        now = self._clock.now_ns()
        caught_up = self.last_captured_ns is not None and self.last_captured_ns >= run.until_ns
        if caught_up or now >= run.until_ns + self._timeout_ns:
            self.finish_run(run)

    # -- samples into segments -----------------------------------------------------------------

    def _slot(self, captured_ns: int) -> int:
        assert self._run is not None
        return (captured_ns - self._run.origin_ns) * self._rate // NS_PER_SECOND

    def _fill(self, until: int) -> None:
        """Silence from the next slot up to ``until`` (counted: no device gave it)."""
        if self._next is None or until <= self._next:
            return
        count = until - self._next
        self.counters.silence_filled_samples += count
        self.board.count(silence=count)
        self._write(np.zeros((count, self._channels), dtype=np.int16), self._next)

    def _write(
        self, samples: Samples, slot: int | None = None, *, until: int | None = None
    ) -> None:
        """Append ``samples`` (at ``slot``, which continues the track) to the segments."""
        if self._next is None or not len(samples):
            return
        if until is not None:
            samples = samples[: max(0, until - self._next)]
        while len(samples):
            if self._encoder is None:
                self._open_segment()
            assert self._encoder is not None
            room = self._segment_start + self._segment_samples - self._next
            part, samples = samples[:room], samples[room:]
            self._encoder.add_samples(part)
            self._next += len(part)
            if self._next - self._segment_start >= self._segment_samples:
                self._close_segment()

    def _open_segment(self) -> None:
        assert self._run is not None and self._next is not None
        self._segment_start = self._next
        path = self.writer.inflight_path(self._index, self.track_id)
        write_start(path, self._us(self._segment_start))
        self._encoder = SoundEncoder(
            path, sample_rate=self._rate, channels=self._channels, bit_rate=self._bit_rate
        )

    def _close_segment(self) -> None:
        encoder, self._encoder = self._encoder, None
        if encoder is None or self._run is None or self._next is None:
            return
        encoder.close()
        start_us, end_us = self._us(self._segment_start), self._us(self._next)
        self.writer.seal_segment(
            self._index,
            start_us=start_us,
            duration_us=max(1, end_us - start_us),
            track=self.track_id,
        )
        self._end_us = max(self._end_us, end_us)
        sealed = self._clock.now_ns()
        run = self._run
        last_ns = run.origin_ns + self._next * NS_PER_SECOND // self._rate
        first_ns = run.origin_ns + self._segment_start * NS_PER_SECOND // self._rate
        self.counters.sealed((sealed - last_ns) // 1000)
        self.board.sealed(
            SealTiming(first_frame_ns=first_ns, last_frame_ns=last_ns, sealed_ns=sealed)
        )
        self._index += 1

    def _us(self, slot: int) -> int:
        assert self._run is not None
        return self._run.offset_us + slot * 1_000_000 // self._rate
