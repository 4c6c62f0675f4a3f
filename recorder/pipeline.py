"""The encode thread's work: frames and samples in, sealed segments out.

Video is the timeline master. Segments are cut by frame count; the audio that belongs with a
segment's frames is cut to match (``recorder.timeline``). A frame slot the camera missed is
filled (the previous picture for a skipped frame, black during an outage); samples the
microphone missed are filled with silence. So the timeline advances with wall-clock time,
sound and picture stay in step, and an outage shows as what it was (and is in the chain).
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from evidence_store.model import Manifest
from hardware.sources import AudioChunk, Image, VideoFrame
from recorder.audio_buffer import AudioBuffer
from recorder.capture import Capture
from recorder.errors import RecorderError
from recorder.segment_encoder import SegmentEncoder
from recorder.settings import RecorderSettings
from recorder.status import StatusBoard
from recorder.timeline import (
    NS_PER_SECOND,
    place,
    samples_before,
    segment_is_full,
    segment_times,
    slot_at,
    slots_before,
)

POLL_SECONDS = 0.02  # longest a step blocks on the camera before looking around
VIDEO_JITTER_FRAMES = 1  # timestamp error taken as jitter before a frame is moved
AUDIO_JITTER_SECONDS = 0.04


class EvidenceWriter(Protocol):
    """What the recorder needs of ``evidence_store.session.SessionWriter``."""

    def inflight_path(self, index: int) -> Path: ...

    def seal_segment(self, index: int, *, start_us: int, duration_us: int) -> object: ...

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def device_lost(self, device: str, reason: str) -> None: ...

    def device_restored(self, device: str) -> None: ...

    def stop(self, reason: str) -> Manifest: ...


@dataclass
class _Run:
    """One stretch of recording between start/resume and pause/stop."""

    requested_ns: int  # media captured before this is not part of the run
    audio: AudioBuffer
    origin_ns: int | None = None  # capture time of frame slot 0: the run's clock
    frames: int = 0
    last_image: Image | None = None


class Pipeline:
    """Turns captured frames and samples into sealed segments. Used by one thread only."""

    def __init__(self, *, settings: RecorderSettings, writer: EvidenceWriter,
                 video: Capture[VideoFrame], audio: Capture[AudioChunk],
                 board: StatusBoard) -> None:
        self.settings = settings
        self.writer = writer
        self.video = video
        self.audio = audio
        self.board = board
        self._run: _Run | None = None
        self._segment: SegmentEncoder | None = None
        self._segment_index = 0
        self._session_frames = 0  # frames in sealed segments: the session's timeline
        self._black = np.zeros((settings.height, settings.width, 3), dtype=np.uint8)

    def begin_run(self, requested_ns: int) -> None:
        """Record what is captured from ``requested_ns`` on; the next frame opens a segment."""
        tolerance = round(AUDIO_JITTER_SECONDS * self.settings.sample_rate)
        self._run = _Run(requested_ns=requested_ns,
                         audio=AudioBuffer(self.settings.channels, tolerance=tolerance))

    def end_run(self, at_ns: int) -> None:
        """Record everything captured before ``at_ns``, then seal the open segment."""
        run = self._require_run()
        if run.origin_ns is not None:
            target = slots_before(at_ns, origin_ns=run.origin_ns, rate=self.settings.fps)
            while run.frames < target:
                self.record_step(until_ns=at_ns)
        if self._segment is not None:
            self._finish_segment()
        self._run = None

    def record_step(self, *, until_ns: int | None = None) -> None:
        """Take what the devices delivered, encode it, and fill what they failed to deliver."""
        self._check_captures()
        run = self._require_run()
        try:
            frame = self.video.queue.get(timeout=POLL_SECONDS)
        except queue.Empty:
            frame = None
        if frame is not None and (until_ns is None or frame.captured_ns < until_ns):
            self._take_frame(run, frame)
        self._take_audio(run)
        horizon = self._stall_horizon(until_ns)
        self._fill_video_stall(run, horizon)
        self._fill_audio_stall(run, horizon)
        self._feed_audio(run)

    def discard_step(self) -> None:
        """While paused: keep the devices drained, encode nothing, note devices that return."""
        self._check_captures()
        try:
            self.video.queue.get(timeout=POLL_SECONDS)
            self._restored(self.video.name)
        except queue.Empty:
            pass
        while True:
            try:
                self.audio.queue.get_nowait()
                self._restored(self.audio.name)
            except queue.Empty:
                break

    def abandon(self) -> None:
        """Close the open segment's file unsealed: it stays in flight for recovery."""
        if self._segment is not None:
            self._segment.abort()
            self._segment = None

    # -- placing frames and samples --------------------------------------------------------

    def _take_frame(self, run: _Run, frame: VideoFrame) -> None:
        if frame.captured_ns < run.requested_ns:
            return  # captured before the run began (e.g. during the pause)
        if run.origin_ns is None:
            run.origin_ns = frame.captured_ns
        slot = slot_at(frame.captured_ns, origin_ns=run.origin_ns, rate=self.settings.fps)
        placement = place(expected=run.frames, slot=slot, tolerance=VIDEO_JITTER_FRAMES)
        if placement.skip:
            self.board.count(dropped=1)  # its slot is already filled: it came too late
            return
        self._restored(self.video.name)
        for _ in range(placement.fill):
            self._add_frame(run, run.last_image if run.last_image is not None else self._black)
            self.board.count(filled=1)
        self._add_frame(run, frame.image)

    def _take_audio(self, run: _Run) -> None:
        if run.origin_ns is None:
            return  # wait for the first frame: it fixes the run's clock
        while True:
            try:
                chunk = self.audio.queue.get_nowait()
            except queue.Empty:
                return
            slot = slot_at(chunk.captured_ns, origin_ns=run.origin_ns,
                           rate=self.settings.sample_rate)
            placement = run.audio.add(chunk.samples, slot=slot)
            if placement.fill:
                self.board.count(silence=placement.fill)
            if placement.skip < chunk.frames:
                self._restored(self.audio.name)

    def _stall_horizon(self, until_ns: int | None) -> int:
        """Media due before this moment is overdue: a device silent since then is lost."""
        timeout_ns = round(self.settings.device_timeout_seconds * NS_PER_SECOND)
        horizon = time.monotonic_ns() - timeout_ns
        return horizon if until_ns is None else min(horizon, until_ns)

    def _fill_video_stall(self, run: _Run, horizon: int) -> None:
        """A camera silent past the timeout is lost: fill its slots with black up to the
        horizon, so the sound recording goes on."""
        if not self.video.queue.empty():
            return  # frames are waiting: the encoder is behind, the camera is not
        if run.origin_ns is None:
            if horizon <= run.requested_ns:
                return
            run.origin_ns = run.requested_ns  # the camera never delivered: start without it
        due = slots_before(horizon, origin_ns=run.origin_ns, rate=self.settings.fps)
        if run.frames >= due:
            return
        self._lost(self.video)
        run.last_image = self._black  # an outage shows black, never a frozen picture
        while run.frames < due:
            self._add_frame(run, self._black)
            self.board.count(filled=1)

    def _fill_audio_stall(self, run: _Run, horizon: int) -> None:
        """A microphone silent past the timeout is lost: fill silence up to the horizon."""
        if run.origin_ns is None or not self.audio.queue.empty():
            return
        due = slots_before(horizon, origin_ns=run.origin_ns, rate=self.settings.sample_rate)
        if run.audio.end < due:
            self._lost(self.audio)
            self.board.count(silence=run.audio.fill_silence(due))

    # -- segments --------------------------------------------------------------------------

    def _add_frame(self, run: _Run, image: Image) -> None:
        if self._segment is None:
            path = self.writer.inflight_path(self._segment_index)
            self._segment = SegmentEncoder(path, self.settings)
        self._segment.add_frame(image)
        run.frames += 1
        run.last_image = image
        self.board.count(frames=1)
        self._feed_audio(run)
        if segment_is_full(self._segment.frames,
                           frames_per_segment=self.settings.frames_per_segment):
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
            self._fill_audio_stall(run, self._stall_horizon(None))
        segment.add_samples(run.audio.take(needed))
        encoded = segment.close()
        self._segment = None
        times = segment_times(self._session_frames, encoded.frames, fps=s.fps)
        self.writer.seal_segment(self._segment_index, start_us=times.start_us,
                                 duration_us=times.duration_us)
        self._segment_index += 1
        self._session_frames += encoded.frames
        self.board.count(segments=1)

    # -- devices ---------------------------------------------------------------------------

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
        for capture in (self.video, self.audio):
            if capture.failure is not None:
                raise RecorderError(f"capture from {capture.name} failed") from capture.failure

    def _require_run(self) -> _Run:
        assert self._run is not None, "no run in progress"
        return self._run
