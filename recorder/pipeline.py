"""The encode thread's work: pictures and samples in, composited frames, sealed segments out.

The recording's clock is the main camera's: a run's frame slot ``k`` is the instant
``origin + k / fps``, where ``origin`` is the capture time of the run's first main-camera
picture. Each slot's frame is composited from every camera's picture of that instant
(``recorder.media.frame_sync``); the audio that belongs with a segment's frames is cut to match
(``recorder.media.timeline``). A camera that misses a slot is repeated for a skipped frame and shown
as NO SIGNAL when it is lost; samples the microphone missed are filled with silence. So the
timeline advances with the clock, sound and picture stay in step, and an outage shows as
what it was (and is in the chain).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from evidence_store import DeviceStats, Manifest
from hardware import AudioChunk, Clock, Image, VideoFrame
from recorder.capture import Capture
from recorder.errors import RecorderError
from recorder.media import (
    NS_PER_SECOND,
    AudioBuffer,
    CameraFeed,
    Choice,
    ClockFollower,
    Compositor,
    Pick,
    Planar,
    SegmentEncoder,
    SlotTiming,
    samples_before,
    segment_is_full,
    segment_times,
    slots_before,
    to_bgr,
)
from recorder.settings import RecorderSettings
from recorder.status import SealTiming, StatusBoard

POLL_SECONDS = 0.02  # longest a step waits for a device before looking around
START_GRACE_SECONDS = 5.0  # a camera's first picture of a run may take this long (IP cameras)
AUDIO_JITTER_SECONDS = 0.04


class EvidenceWriter(Protocol):
    """What the recorder needs of ``evidence_store.session.SessionWriter``."""

    def inflight_path(self, index: int) -> Path: ...

    def seal_segment(self, index: int, *, start_us: int, duration_us: int) -> object: ...

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def device_lost(self, device: str, reason: str) -> None: ...

    def device_restored(self, device: str) -> None: ...

    def clock_corrected(self, device: str, reason: str) -> None: ...

    def device_stats(self, stats: list[DeviceStats]) -> None: ...

    def request_stop(self, reason: str) -> None: ...

    def stop(self, reason: str) -> Manifest: ...


@dataclass
class _Run:
    """One stretch of recording between start/resume and pause/stop."""

    requested_ns: int  # media captured before this is not part of the run
    audio: AudioBuffer
    follower: ClockFollower | None
    clock_anchor_ns: int  # the clock's reading at ...
    wall_anchor: datetime  # ... this wall-clock time: the caption's time of each frame
    origin_ns: int | None = None  # the instant of frame slot 0: the run's clock
    frames: int = 0


class Pipeline:
    """Turns captured pictures and samples into sealed segments. Used by one thread only."""

    def __init__(
        self,
        *,
        settings: RecorderSettings,
        writer: EvidenceWriter,
        cameras: Sequence[Capture[VideoFrame]],
        audio: Capture[AudioChunk],
        board: StatusBoard,
        compositor: Compositor,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.cameras = tuple(cameras)
        self.audio = audio
        self.board = board
        self.compositor = compositor
        self.clock = clock
        self.feeds = tuple(
            CameraFeed(c.name, capacity=max(2, c.queue.maxsize)) for c in self.cameras
        )
        self._latest: Planar | None = None  # the last frame made: the live preview
        self._run: _Run | None = None
        self._segment: SegmentEncoder | None = None
        self._segment_index = 0
        self._segment_first_ns = 0  # the instants of the open segment's first and last frames
        self._segment_last_ns = 0
        self._session_frames = 0  # frames in sealed segments: the session's timeline
        # What each device delivered and what was done with it (sealed at the stop).
        self.filled = [0] * len(self.cameras)  # frames without a fresh picture, per camera
        self.join_wait_us = [0] * (len(self.cameras) + 1)  # cameras, then the microphone
        self.samples_cut = 0
        self.clock_corrections = 0
        self._resampled_before = 0  # by the followers of earlier runs
        self._ratio = 1.0  # the microphone's measured clock, carried to the next run
        self._half_frame_ns = NS_PER_SECOND // (2 * settings.fps)
        self._timeout_ns = round(settings.device_timeout_seconds * NS_PER_SECOND)
        self._start_grace_ns = round(START_GRACE_SECONDS * NS_PER_SECOND)
        # The room's captures share one ``arrived`` event: one wait covers every device.
        self._arrived = self.audio.arrived

    def begin_run(self, requested_ns: int) -> None:
        """Record what is captured from ``requested_ns`` on; the next frame opens a segment."""
        tolerance = round(AUDIO_JITTER_SECONDS * self.settings.sample_rate)
        self._run = _Run(
            requested_ns=requested_ns,
            audio=AudioBuffer(self.settings.channels, tolerance=tolerance),
            follower=None,
            clock_anchor_ns=self.clock.now_ns(),
            wall_anchor=datetime.now(UTC),
        )
        for feed in self.feeds:
            feed.begin_run(requested_ns)

    def end_run(self, at_ns: int) -> None:
        """Record everything captured before ``at_ns``, then seal the open segment."""
        run = self._require_run()
        self._collect()
        self._start_clock(run, self.clock.now_ns())
        if run.origin_ns is not None:
            target = slots_before(at_ns, origin_ns=run.origin_ns, rate=self.settings.fps)
            while run.frames < target:
                self.record_step(until_ns=at_ns)
        if self._segment is not None:
            self._finish_segment()
        if run.follower is not None:
            self._resampled_before += run.follower.samples_resampled
            self._ratio = run.follower.ratio
        self._run = None

    @property
    def samples_resampled(self) -> int:
        """Microphone samples resampled onto the session clock, over every run."""
        follower = self._run.follower if self._run is not None else None
        return self._resampled_before + (follower.samples_resampled if follower else 0)

    def record_step(self, *, until_ns: int | None = None) -> None:
        """Take what the devices delivered, make every frame whose pictures are in (or whose
        cameras timed out), encode it, and fill what the devices failed to deliver."""
        self._check_captures()
        run = self._require_run()
        self._wait_for_data()
        self._collect()
        now = self.clock.now_ns()
        self._start_clock(run, now)
        if run.origin_ns is not None:
            self._make_frames(run, now=now, until_ns=until_ns)
        self._take_audio(run)
        self._fill_audio_stall(run, self._stall_horizon(now, until_ns))
        self._feed_audio(run)

    def discard_step(self) -> None:
        """While paused: keep the devices drained, encode nothing, note devices that return."""
        self._check_captures()
        self._wait_for_data()
        captures: list[Capture[VideoFrame] | Capture[AudioChunk]] = [*self.cameras, self.audio]
        for capture in captures:
            delivered = False
            while True:
                try:
                    capture.queue.get_nowait()
                    delivered = True
                except queue.Empty:
                    break
            if delivered:
                self._restored(capture.name)

    @property
    def latest_image(self) -> Image | None:
        """The last frame made, as BGR (converted on request: a preview is asked for a few
        times a second, frames are made 30 times)."""
        latest = self._latest
        return None if latest is None else to_bgr(latest)

    def abandon(self) -> None:
        """Close the open segment's file unsealed: it stays in flight for recovery."""
        if self._segment is not None:
            self._segment.abort()
            self._segment = None

    # -- pictures ----------------------------------------------------------------------------

    def _wait_for_data(self) -> None:
        # Cleared before the queues are drained: an item queued after the drain sets it again.
        self._arrived.wait(POLL_SECONDS)
        self._arrived.clear()

    def _collect(self) -> None:
        """Move the cameras' queued pictures to their feeds."""
        for capture, feed in zip(self.cameras, self.feeds, strict=True):
            while True:
                try:
                    feed.push(capture.queue.get_nowait())
                except queue.Empty:
                    break

    def _start_clock(self, run: _Run, now: int) -> None:
        if run.origin_ns is not None:
            return
        first = self.feeds[0].first_captured_ns
        if first is not None:
            run.origin_ns = first
        elif now - self._timeout_ns > run.requested_ns:
            run.origin_ns = run.requested_ns  # the main camera never delivered: go without it
        if run.origin_ns is not None:
            # Joining: the wait for the main camera's first picture is a wait, not filling.
            self.join_wait_us[0] += max(0, run.origin_ns - run.requested_ns) // 1000
            run.follower = ClockFollower(
                self.settings.sample_rate,
                self.settings.channels,
                origin_ns=run.origin_ns,
                ratio=self._ratio,
            )

    def _make_frames(self, run: _Run, *, now: int, until_ns: int | None) -> None:
        assert run.origin_ns is not None
        fps = self.settings.fps
        while True:
            slot_ns = run.origin_ns + run.frames * NS_PER_SECOND // fps
            if slot_ns > now or (until_ns is not None and slot_ns >= until_ns):
                return
            timing = SlotTiming(
                slot_ns=slot_ns,
                half_frame_ns=self._half_frame_ns,
                timeout_ns=self._timeout_ns,
                now_ns=now,
                until_ns=until_ns,
                start_grace_ns=self._start_grace_ns,
            )
            picks = [feed.pick(timing, lost=self.board.is_lost(feed.name)) for feed in self.feeds]
            if any(p.choice is Choice.WAIT for p in picks):
                return
            if (
                all(p.choice is Choice.NO_SIGNAL for p in picks)
                and slot_ns >= now - self._timeout_ns
            ):
                return  # no camera at all: advance only as far as a returning one could be
            self._make_frame(run, slot_ns, picks)

    def _make_frame(self, run: _Run, slot_ns: int, picks: list[Pick]) -> None:
        for number, (capture, feed, pick) in enumerate(
            zip(self.cameras, self.feeds, picks, strict=True)
        ):
            if pick.choice is Choice.FRESH:
                self._restored(capture.name)
            elif pick.lost_now:
                self._lost(capture)
            if pick.choice is not Choice.FRESH:
                if not feed.started and not self.board.is_lost(capture.name):
                    self.join_wait_us[number] += NS_PER_SECOND // self.settings.fps // 1000
                else:
                    self.filled[number] += 1
            feed.made(slot_ns, self._half_frame_ns)
        if picks[0].choice is not Choice.FRESH and self.feeds[0].started:
            self.board.count(filled=1)
        elapsed_frames = self._session_frames + (self._segment.frames if self._segment else 0)
        wall = run.wall_anchor + timedelta(microseconds=(slot_ns - run.clock_anchor_ns) // 1000)
        image = self.compositor.compose(
            [p.image for p in picks], wall=wall, elapsed_seconds=elapsed_frames // self.settings.fps
        )
        self._latest = image  # never changed after this: safe to read from any thread
        self._add_frame(run, image, slot_ns)

    # -- sound -------------------------------------------------------------------------------

    def _take_audio(self, run: _Run) -> None:
        if run.origin_ns is None:
            return  # wait for the first frame: it fixes the run's clock
        while True:
            try:
                chunk = self.audio.queue.get_nowait()
            except queue.Empty:
                return
            # The microphone's clock is followed by resampling (recorder.media.drift), so
            # its chunks continue each other unless the device jumped (an outage).
            assert run.follower is not None
            placed = run.follower.place(chunk.samples, chunk.captured_ns)
            for correction in placed.corrections:
                self.clock_corrections += 1
                self.writer.clock_corrected(self.audio.name, correction.describe())
            self.samples_cut += placed.cut
            first = run.audio.end == 0
            placement = run.audio.add(placed.samples, slot=placed.slot)
            if first and placed.slot > 0:
                # Joining: the microphone's first sound came after the run began.
                self.join_wait_us[-1] += placed.slot * 1_000_000 // self.settings.sample_rate
            elif placement.fill:
                self.board.count(silence=placement.fill)
            self.samples_cut += placement.skip
            if len(placed.samples) and placement.skip < len(placed.samples):
                self._restored(self.audio.name)

    def _stall_horizon(self, now: int, until_ns: int | None) -> int:
        """Media due before this moment is overdue: a device silent since then is lost."""
        horizon = now - self._timeout_ns
        return horizon if until_ns is None else min(horizon, until_ns)

    def _fill_audio_stall(self, run: _Run, horizon: int) -> None:
        """A microphone silent past the timeout is lost: fill silence up to the horizon."""
        if run.origin_ns is None or not self.audio.queue.empty():
            return
        due = slots_before(horizon, origin_ns=run.origin_ns, rate=self.settings.sample_rate)
        if run.audio.end < due:
            self._lost(self.audio)
            self.board.count(silence=run.audio.fill_silence(due))

    # -- segments ----------------------------------------------------------------------------

    def _add_frame(self, run: _Run, image: Planar, slot_ns: int) -> None:
        if self._segment is None:
            path = self.writer.inflight_path(self._segment_index)
            self._segment = SegmentEncoder(path, self.settings)
            self._segment_first_ns = slot_ns
        self._segment.add_frame(image)
        self._segment_last_ns = slot_ns
        run.frames += 1
        self.board.count(frames=1)
        self._feed_audio(run)
        if segment_is_full(
            self._segment.frames, frames_per_segment=self.settings.frames_per_segment
        ):
            self._finish_segment()

    def _feed_audio(self, run: _Run) -> None:
        """Hand the encoder the samples that belong with the frames it has so far."""
        if self._segment is not None:
            s = self.settings
            due = samples_before(run.frames, fps=s.fps, sample_rate=s.sample_rate)
            self._segment.add_samples(run.audio.take(due))

    def _finish_segment(self) -> None:
        """Complete the open segment's audio, close the file and seal it into the chain."""
        run = self._require_run()
        segment = self._segment
        assert segment is not None
        s = self.settings
        needed = samples_before(run.frames, fps=s.fps, sample_rate=s.sample_rate)
        while run.audio.end < needed:  # bounded: a silent microphone is filled after a timeout
            self._check_captures()
            time.sleep(POLL_SECONDS / 4)
            self._take_audio(run)
            self._fill_audio_stall(run, self._stall_horizon(self.clock.now_ns(), None))
        segment.add_samples(run.audio.take(needed))
        encoded = segment.close()
        self._segment = None
        times = segment_times(self._session_frames, encoded.frames, fps=s.fps)
        self.writer.seal_segment(
            self._segment_index, start_us=times.start_us, duration_us=times.duration_us
        )
        self._segment_index += 1
        self._session_frames += encoded.frames
        self.board.sealed(
            SealTiming(
                first_frame_ns=self._segment_first_ns,
                last_frame_ns=self._segment_last_ns,
                sealed_ns=self.clock.now_ns(),
            )
        )

    # -- devices -----------------------------------------------------------------------------

    def _lost(self, capture: Capture[VideoFrame] | Capture[AudioChunk]) -> None:
        if self.board.is_lost(capture.name):
            return
        timeout = self.settings.device_timeout_seconds
        reason = capture.last_error or f"no data for {timeout:g} s"
        self.writer.device_lost(capture.name, reason)
        self.board.lost(capture.name, reason)

    def _restored(self, device: str) -> None:
        if self.board.is_lost(device):
            self.writer.device_restored(device)
            self.board.restored(device)

    def _check_captures(self) -> None:
        captures: list[Capture[VideoFrame] | Capture[AudioChunk]] = [*self.cameras, self.audio]
        for capture in captures:
            if capture.failure is not None:
                raise RecorderError(f"capture from {capture.name} failed") from capture.failure

    def _require_run(self) -> _Run:
        assert self._run is not None, "no run in progress"
        return self._run
