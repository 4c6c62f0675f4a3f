"""A room's recording session: devices -> capture threads -> one encode thread -> sealed segments.

The encode thread is the only one that touches the encoder and the session writer: every
control request (pause, resume, stop) is a command it carries out between two frames, so the
chain's order is the media's order and nothing in the pipeline needs a lock. What it does
with frames and samples is ``recorder.pipeline``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from evidence_store.model import Manifest
from hardware.errors import HardwareError
from hardware.sources import AudioChunk, Camera, Microphone, VideoFrame
from recorder.capture import Capture
from recorder.errors import RecorderError, RecorderStateError
from recorder.pipeline import EvidenceWriter, Pipeline
from recorder.settings import RecorderSettings
from recorder.status import RecorderState, RecorderStatus, StatusBoard, describe_failure

AUDIO_QUEUE_CHUNKS = 500  # 10 s of 20 ms chunks: audio is small, keep plenty
ENDED = {RecorderState.READY, RecorderState.STOPPED, RecorderState.CLOSED}  # no commands

CommandKind = Literal["pause", "resume", "stop"]


@dataclass
class _Command:
    kind: CommandKind
    reason: str
    at_ns: int  # when it was asked for: media captured before this belongs to the recording
    done: threading.Event = field(default_factory=threading.Event)
    result: Manifest | None = None
    error: BaseException | None = None


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
        self._board = StatusBoard(fps=settings.fps, sample_rate=settings.sample_rate)
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._closing = threading.Event()
        self._video = Capture[VideoFrame](
            name=camera.name, read=camera.read, reopen=lambda: _reopen(camera),
            capacity=max(2, round(settings.capture_buffer_seconds * settings.fps)))
        self._audio = Capture[AudioChunk](
            name=microphone.name, read=microphone.read, reopen=lambda: _reopen(microphone),
            capacity=AUDIO_QUEUE_CHUNKS)
        self._pipeline = Pipeline(settings=settings, writer=writer, video=self._video,
                                  audio=self._audio, board=self._board)
        self._encoder = threading.Thread(target=self._encode_loop, name="encoder", daemon=True)

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the devices and start recording."""
        with self._api_lock:
            if self._board.state is not RecorderState.READY:
                raise RecorderStateError(f"cannot start: the recorder is "
                                         f"{self._board.state.value} (a recorder starts once)")
            requested_ns = time.monotonic_ns()  # before opening: the first frame belongs in
            _open(self.camera)
            try:
                _open(self.microphone)
                self._check_formats()  # after opening: real devices settle their format then
            except RecorderError:
                self._close_devices()
                raise
            self._pipeline.begin_run(requested_ns)
            self._board.set_state(RecorderState.RECORDING)
            self._video.start()
            self._audio.start()
            self._encoder.start()

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
        """Stop everything and release the devices, sealing nothing: a segment in progress is
        left in flight for recovery. ``stop`` calls this; call it directly only to abandon a
        recording (the caller then ends the session, e.g. ``writer.interrupt``). Idempotent."""
        self._closing.set()
        self._video.stop()
        self._audio.stop()
        self._close_devices()
        self._video.join(timeout=2)
        self._audio.join(timeout=2)
        if self._encoder.is_alive() and threading.current_thread() is not self._encoder:
            self._encoder.join(timeout=5)
        self._board.set_state(RecorderState.CLOSED,
                              unless={RecorderState.STOPPED, RecorderState.FAILED})

    def wait_until(self, media_seconds: float, *,
                   progress: Callable[[float], None] | None = None,
                   timeout: float | None = None) -> RecorderStatus:
        """Block until ``media_seconds`` of media are recorded (or ``timeout`` seconds pass;
        then the status returned shows less). ``progress`` gets the recorded media seconds
        about 4 times a second. Raises if the recording fails or is stopped first. While paused
        the media does not grow: it waits for a resume (from another thread) or the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status()
            if status.state is RecorderState.FAILED:
                self._raise_failure()
            if progress is not None:
                progress(status.media_seconds)
            if status.media_seconds >= media_seconds:
                return status
            if status.state in ENDED:
                raise RecorderStateError(f"the recorder is {status.state.value}")
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return status
            self._board.wait(0.25 if remaining is None else min(0.25, remaining))

    def status(self) -> RecorderStatus:
        """The current state and counters. Never raises: a failure shows as ``error``."""
        return self._board.snapshot(capture_dropped=self._video.dropped)

    def _command(self, kind: CommandKind, reason: str) -> Manifest | None:
        with self._api_lock:
            if self._board.state in ENDED:
                raise RecorderStateError(
                    f"cannot {kind}: the recorder is {self._board.state.value}")
            self._raise_failure()
            command = _Command(kind, reason, at_ns=time.monotonic_ns())
            self._commands.put(command)
            while not command.done.wait(0.1):
                if not self._encoder.is_alive():
                    break
            self._raise_failure()
            if command.error is not None:
                raise command.error
            if not command.done.is_set():
                raise RecorderError("the encoder stopped before it could carry out the request")
            return command.result

    def _raise_failure(self) -> None:
        failure = self._board.failure
        if failure is not None:
            raise RecorderError(f"recording failed: {describe_failure(failure)}") from failure

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

    def _close_devices(self) -> None:
        for device in (self.camera, self.microphone):
            # Closing is best effort: what was recorded is already written.
            with contextlib.suppress(HardwareError):
                device.close()

    # -- the encode thread -----------------------------------------------------------------

    def _encode_loop(self) -> None:
        try:
            while self._board.state is not RecorderState.STOPPED and not self._closing.is_set():
                self._carry_out_commands()
                if self._board.state is RecorderState.RECORDING:
                    self._pipeline.record_step()
                elif self._board.state is RecorderState.PAUSED:
                    self._pipeline.discard_step()
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._pipeline.abandon()  # only if a segment is still open: closed, not stopped

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
        state = self._board.state
        if command.kind == "resume":
            if state is not RecorderState.PAUSED:
                raise RecorderStateError(f"cannot resume: the recorder is {state.value}")
            self.writer.resume(command.reason)
            self._pipeline.begin_run(command.at_ns)
            self._board.set_state(RecorderState.RECORDING)
            return None
        if command.kind == "pause" and state is not RecorderState.RECORDING:
            raise RecorderStateError(f"cannot pause: the recorder is {state.value}")
        if state is RecorderState.RECORDING:
            self._pipeline.end_run(command.at_ns)
        if command.kind == "pause":
            self.writer.pause(command.reason)
            self._board.set_state(RecorderState.PAUSED)
            return None
        manifest = self.writer.stop(command.reason)
        self._board.set_state(RecorderState.STOPPED)
        return manifest

    def _fail(self, exc: BaseException) -> None:
        if not self._board.fail(exc):
            return
        self._pipeline.abandon()  # the partial file stays in flight for recovery
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
