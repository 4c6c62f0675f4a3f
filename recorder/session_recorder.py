"""A room's recording pipeline: devices -> capture threads -> one encode thread -> sealed segments.

The encode thread is the only one that touches the encoder and the session writer: every
control request (pause, resume, stop) is a command it carries out between two frames, so the
chain's order is the media's order and no lock guards the pipeline itself.

Video is the timeline master. Segments are cut by frame count; the audio that belongs with a
segment's frames is cut to match (``recorder.timeline``). A frame slot the camera missed is
filled (the previous picture for a skipped frame, black during an outage); samples the
microphone missed are filled with silence. So the timeline always advances with wall-clock
time, sound and picture stay in step, and an outage shows as what it was.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from evidence_store.model import Manifest
from hardware.errors import HardwareError
from hardware.sources import AudioChunk, Camera, Image, Microphone, VideoFrame
from recorder.audio_buffer import AudioBuffer
from recorder.capture import Capture
from recorder.errors import RecorderError, RecorderStateError
from recorder.segment_encoder import SegmentEncoder
from recorder.settings import RecorderSettings
from recorder.timeline import (
    NS_PER_SECOND,
    place,
    samples_before,
    segment_is_full,
    segment_times,
    slot_at,
    slots_before,
)

POLL_SECONDS = 0.02  # longest the encode loop blocks on one queue before looking around
AUDIO_QUEUE_CHUNKS = 500  # 10 s of 20 ms chunks: audio is small, keep plenty
VIDEO_JITTER_FRAMES = 1  # timestamp error tolerated before a frame is moved on the timeline
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


class RecorderState(StrEnum):
    READY = "ready"
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """A snapshot of the recorder, safe to read from any thread."""

    state: RecorderState
    media_seconds: float  # recorded media: sealed segments plus the open one
    segments_sealed: int
    frames_dropped: int  # frames the camera delivered that are not in the recording
    frames_filled: int  # frame slots with no camera frame (repeated or black picture)
    silence_filled_seconds: float  # audio with no microphone samples
    lost_devices: tuple[str, ...]
    error: str | None = None


@dataclass
class _Command:
    kind: Literal["pause", "resume", "stop"]
    reason: str
    at_ns: int  # when it was asked for: media captured before this belongs to the recording
    done: threading.Event = field(default_factory=threading.Event)
    result: Manifest | None = None
    error: BaseException | None = None


@dataclass
class _Run:
    """One stretch of recording between start/resume and pause/stop."""

    requested_ns: int  # media captured before this is not part of the run
    audio: AudioBuffer
    origin_ns: int | None = None  # capture time of frame slot 0
    frames: int = 0
    last_image: Image | None = None


class SessionRecorder:
    """Records one session from ``camera`` and ``microphone`` into ``writer``.

    ``start`` opens the devices and begins recording; ``pause``, ``resume`` and ``stop`` return
    once the change is sealed. An error in the pipeline is raised, as ``RecorderError``, by the
    next ``pause``/``resume``/``stop``/``wait_until``; ``status`` reports it instead. After a
    failure the session is not sealed: the caller owns ``writer`` and decides (typically
    ``writer.interrupt``). All methods are thread-safe.
    """

    def __init__(self, camera: Camera, microphone: Microphone, settings: RecorderSettings,
                 writer: EvidenceWriter) -> None:
        self.camera = camera
        self.microphone = microphone
        self.settings = settings
        self.writer = writer
        self._api_lock = threading.Lock()  # one control request at a time
        self._status_lock = threading.Condition()  # guards and announces the fields below
        self._state = RecorderState.READY
        self._media_frames = 0
        self._segments_sealed = 0
        self._frames_dropped = 0
        self._frames_filled = 0
        self._silence_samples = 0
        self._lost: dict[str, str] = {}
        self._failure: BaseException | None = None
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._video = Capture[VideoFrame](
            name=camera.name, read=camera.read, reopen=lambda: _reopen(camera),
            capacity=max(2, round(settings.capture_buffer_seconds * settings.fps)))
        self._audio = Capture[AudioChunk](
            name=microphone.name, read=microphone.read, reopen=lambda: _reopen(microphone),
            capacity=AUDIO_QUEUE_CHUNKS)
        self._encoder_thread = threading.Thread(target=self._encode_loop, name="encoder",
                                                daemon=True)
        # Owned by the encode thread from start() on.
        self._run: _Run | None = None
        self._segment: SegmentEncoder | None = None
        self._segment_index = 0
        self._session_frames = 0  # frames in sealed segments: the session timeline
        self._black = np.zeros((settings.height, settings.width, 3), dtype=np.uint8)

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the devices and start recording."""
        with self._api_lock:
            if self._state is not RecorderState.READY:
                raise RecorderStateError(f"the recorder is {self._state.value}; start it once")
            self._check_formats()
            requested_ns = time.monotonic_ns()  # before opening: the first frame belongs in
            _open(self.camera)
            try:
                _open(self.microphone)
            except RecorderError:
                self.camera.close()
                raise
            self._run = self._new_run(requested_ns)
            self._set_state(RecorderState.RECORDING)
            self._video.start()
            self._audio.start()
            self._encoder_thread.start()

    def pause(self, reason: str) -> None:
        """Seal the segment in progress (it may be short), then record the pause and its reason.

        Nothing captured from now until ``resume`` is encoded."""
        self._command("pause", reason)

    def resume(self, reason: str) -> None:
        """Record the resume and its reason; the next frame starts a new segment."""
        self._command("resume", reason)

    def stop(self, reason: str) -> Manifest:
        """Seal the segment in progress, stop the session with ``reason`` and return its
        sealed manifest. The devices are released, even when this raises."""
        try:
            manifest = self._command("stop", reason)
        finally:
            self.close()
        assert manifest is not None
        return manifest

    def close(self) -> None:
        """Release the devices and threads without sealing anything. Idempotent."""
        self._video.stop()
        self._audio.stop()
        for device in (self.camera, self.microphone):
            # Closing is best effort: the session's record is already written.
            with contextlib.suppress(HardwareError):
                device.close()
        self._video.join(timeout=2)
        self._audio.join(timeout=2)
        if self._encoder_thread.is_alive() and threading.current_thread() is not \
                self._encoder_thread:
            self._encoder_thread.join(timeout=2)

    def wait_until(self, media_seconds: float, *,
                   progress: Callable[[float], None] | None = None,
                   timeout: float | None = None) -> RecorderStatus:
        """Block until ``media_seconds`` of media are recorded (or ``timeout`` seconds pass;
        then the status returned shows less). ``progress`` gets the recorded media seconds
        about 4 times a second. Raises if the recording fails or is stopped first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status()
            if status.state is RecorderState.FAILED:
                self._raise_failure()
            if progress is not None:
                progress(status.media_seconds)
            if status.media_seconds >= media_seconds:
                return status
            if status.state in {RecorderState.STOPPED, RecorderState.READY}:
                raise RecorderStateError(f"the recorder is {status.state.value}")
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return status
            with self._status_lock:
                self._status_lock.wait(0.25 if remaining is None else min(0.25, remaining))

    def status(self) -> RecorderStatus:
        """The current state and counters. Never raises: a failure shows as ``error``."""
        s = self.settings
        with self._status_lock:
            return RecorderStatus(
                state=self._state,
                media_seconds=self._media_frames / s.fps,
                segments_sealed=self._segments_sealed,
                frames_dropped=self._frames_dropped + self._video.dropped,
                frames_filled=self._frames_filled,
                silence_filled_seconds=self._silence_samples / s.sample_rate,
                lost_devices=tuple(self._lost),
                error=None if self._failure is None else _describe(self._failure),
            )

    def _command(self, kind: Literal["pause", "resume", "stop"], reason: str) -> Manifest | None:
        with self._api_lock:
            if self._state in {RecorderState.READY, RecorderState.STOPPED}:
                raise RecorderStateError(f"cannot {kind}: the recorder is {self._state.value}")
            self._raise_failure()
            command = _Command(kind, reason, at_ns=time.monotonic_ns())
            self._commands.put(command)
            while not command.done.wait(0.1):
                if not self._encoder_thread.is_alive():
                    break
            self._raise_failure()
            if command.error is not None:
                raise command.error
            if not command.done.is_set():
                raise RecorderError("the encoder stopped before it could carry out the request")
            return command.result

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RecorderError(f"recording failed: {_describe(self._failure)}") \
                from self._failure

    def _check_formats(self) -> None:
        s, cam, mic = self.settings, self.camera, self.microphone
        if (cam.width, cam.height, cam.fps) != (s.width, s.height, s.fps):
            raise RecorderError(f"camera {cam.name} delivers {cam.width}x{cam.height} at "
                                f"{cam.fps} fps; the room records {s.width}x{s.height} at "
                                f"{s.fps} fps")
        if (mic.sample_rate, mic.channels) != (s.sample_rate, s.channels):
            raise RecorderError(f"microphone {mic.name} delivers {mic.sample_rate} Hz, "
                                f"{mic.channels} channel(s); the room records "
                                f"{s.sample_rate} Hz, {s.channels} channel(s)")

    def _set_state(self, state: RecorderState) -> None:
        with self._status_lock:
            self._state = state
            self._status_lock.notify_all()

    # -- the encode thread -----------------------------------------------------------------

    def _encode_loop(self) -> None:
        try:
            while self._state is not RecorderState.STOPPED:
                self._carry_out_commands()
                if self._state is RecorderState.RECORDING:
                    self._record_step()
                elif self._state is RecorderState.PAUSED:
                    self._discard_step()
        except BaseException as exc:
            self._fail(exc)

    def _carry_out_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command.result = self._carry_out(command)
            except RecorderStateError as exc:
                command.error = exc  # a refused request changes nothing; recording goes on
            except BaseException as exc:
                self._fail(exc)  # before waking the caller, so it sees the failure
                raise
            finally:
                command.done.set()

    def _carry_out(self, command: _Command) -> Manifest | None:
        state = self._state
        if command.kind == "resume":
            if state is not RecorderState.PAUSED:
                raise RecorderStateError(f"cannot resume: the recorder is {state.value}")
            self.writer.resume(command.reason)
            self._run = self._new_run(command.at_ns)
            self._set_state(RecorderState.RECORDING)
            return None
        if command.kind == "pause" and state is not RecorderState.RECORDING:
            raise RecorderStateError(f"cannot pause: the recorder is {state.value}")
        if state is RecorderState.RECORDING:
            self._end_run(command.at_ns)
        if command.kind == "pause":
            self.writer.pause(command.reason)
            self._set_state(RecorderState.PAUSED)
            return None
        manifest = self.writer.stop(command.reason)
        self._set_state(RecorderState.STOPPED)
        return manifest

    def _new_run(self, requested_ns: int) -> _Run:
        tolerance = round(AUDIO_JITTER_SECONDS * self.settings.sample_rate)
        return _Run(requested_ns=requested_ns,
                    audio=AudioBuffer(self.settings.channels, tolerance=tolerance))

    def _end_run(self, at_ns: int) -> None:
        """Record everything captured before ``at_ns``, then seal the open segment."""
        run = self._require_run()
        if run.origin_ns is not None:
            target = slots_before(at_ns, origin_ns=run.origin_ns, rate=self.settings.fps)
            while run.frames < target:
                self._record_step(until_ns=at_ns)
        if self._segment is not None:
            self._finish_segment()
        self._run = None

    def _record_step(self, *, until_ns: int | None = None) -> None:
        """Take what the devices delivered, encode it, and fill what they failed to deliver."""
        self._check_captures()
        run = self._require_run()
        try:
            frame = self._video.queue.get(timeout=POLL_SECONDS)
        except queue.Empty:
            frame = None
        if frame is not None and (until_ns is None or frame.captured_ns < until_ns):
            self._take_frame(run, frame)
        self._take_audio(run)
        horizon = self._stall_horizon(until_ns)
        self._fill_video_stall(run, horizon)
        self._fill_audio_stall(run, horizon)
        self._feed_audio(run)

    def _discard_step(self) -> None:
        """While paused: keep the devices drained; note devices that came back."""
        self._check_captures()
        try:
            self._video.queue.get(timeout=POLL_SECONDS)
            self._restored(self.camera.name)
        except queue.Empty:
            pass
        while True:
            try:
                self._audio.queue.get_nowait()
                self._restored(self.microphone.name)
            except queue.Empty:
                break

    def _take_frame(self, run: _Run, frame: VideoFrame) -> None:
        if frame.captured_ns < run.requested_ns:
            return  # captured before the run began (e.g. during the pause)
        if run.origin_ns is None:
            run.origin_ns = frame.captured_ns
        slot = slot_at(frame.captured_ns, origin_ns=run.origin_ns, rate=self.settings.fps)
        placement = place(expected=run.frames, slot=slot, tolerance=VIDEO_JITTER_FRAMES)
        if placement.skip:
            self._count(dropped=1)  # its slot is already filled: it came too late
            return
        self._restored(self.camera.name)
        for _ in range(placement.fill):
            self._add_frame(run, run.last_image if run.last_image is not None else self._black)
            self._count(filled=1)
        self._add_frame(run, frame.image)

    def _take_audio(self, run: _Run) -> None:
        if run.origin_ns is None:
            return  # wait for the first frame: it fixes the run's clock
        while True:
            try:
                chunk = self._audio.queue.get_nowait()
            except queue.Empty:
                return
            slot = slot_at(chunk.captured_ns, origin_ns=run.origin_ns,
                           rate=self.settings.sample_rate)
            placement = run.audio.add(chunk.samples, slot=slot)
            if placement.fill:
                self._count(silence=placement.fill)
            if placement.skip < chunk.frames:
                self._restored(self.microphone.name)

    def _stall_horizon(self, until_ns: int | None) -> int:
        """Media due before this moment is overdue: a device silent since then is lost."""
        timeout_ns = round(self.settings.device_timeout_seconds * NS_PER_SECOND)
        horizon = time.monotonic_ns() - timeout_ns
        return horizon if until_ns is None else min(horizon, until_ns)

    def _fill_video_stall(self, run: _Run, horizon: int) -> None:
        """A camera silent past the timeout is lost: fill its slots with black up to the
        horizon, so the sound recording goes on."""
        if not self._video.queue.empty():
            return  # frames are waiting: the encoder is behind, the camera is not
        if run.origin_ns is None:
            if horizon <= run.requested_ns:
                return
            run.origin_ns = run.requested_ns  # the camera never delivered: start without it
        due = slots_before(horizon, origin_ns=run.origin_ns, rate=self.settings.fps)
        if run.frames >= due:
            return
        self._lost_device(self.camera.name, self._video)
        run.last_image = self._black  # an outage shows black, never a frozen picture
        while run.frames < due:
            self._add_frame(run, self._black)
            self._count(filled=1)

    def _fill_audio_stall(self, run: _Run, horizon: int) -> None:
        """A microphone silent past the timeout is lost: fill silence up to the horizon."""
        if run.origin_ns is None or not self._audio.queue.empty():
            return
        due = slots_before(horizon, origin_ns=run.origin_ns, rate=self.settings.sample_rate)
        if run.audio.end < due:
            self._lost_device(self.microphone.name, self._audio)
            self._count(silence=run.audio.fill_silence(due))

    def _add_frame(self, run: _Run, image: Image) -> None:
        if self._segment is None:
            path = self.writer.inflight_path(self._segment_index)
            self._segment = SegmentEncoder(path, self.settings)
        self._segment.add_frame(image)
        run.frames += 1
        run.last_image = image
        with self._status_lock:
            self._media_frames += 1
            self._status_lock.notify_all()
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
        with self._status_lock:
            self._segments_sealed += 1
            self._status_lock.notify_all()

    def _lost_device(self, name: str, capture: Capture[VideoFrame] | Capture[AudioChunk]) -> None:
        if name in self._lost:
            return
        seconds = self.settings.device_timeout_seconds
        reason = capture.last_error or f"no data for {seconds:g} s"
        self.writer.device_lost(name, reason)
        with self._status_lock:
            self._lost[name] = reason

    def _restored(self, name: str) -> None:
        if name not in self._lost:
            return
        self.writer.device_restored(name)
        with self._status_lock:
            del self._lost[name]

    def _check_captures(self) -> None:
        for capture in (self._video, self._audio):
            if capture.failure is not None:
                raise RecorderError(f"capture from {capture.name} failed") from capture.failure

    def _count(self, *, dropped: int = 0, filled: int = 0, silence: int = 0) -> None:
        with self._status_lock:
            self._frames_dropped += dropped
            self._frames_filled += filled
            self._silence_samples += silence

    def _require_run(self) -> _Run:
        assert self._run is not None, "no run in progress"
        return self._run

    def _fail(self, exc: BaseException) -> None:
        if self._failure is not None:
            return
        if self._segment is not None:
            self._segment.abort()  # the partial file stays in flight for recovery
            self._segment = None
        with self._status_lock:
            self._failure = exc
            self._state = RecorderState.FAILED
            self._status_lock.notify_all()
        # Release anyone waiting on a command: they will see the failure.
        while True:
            try:
                self._commands.get_nowait().done.set()
            except queue.Empty:
                break


def _open(device: Camera | Microphone) -> None:
    try:
        device.open()
    except HardwareError as exc:
        raise RecorderError(f"cannot open {device.name}: {exc}") from exc


def _reopen(device: Camera | Microphone) -> None:
    device.close()
    device.open()


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    return f"{exc}: {cause}" if cause is not None and str(cause) not in str(exc) else str(exc)
