"""A room's recording session: devices -> capture threads -> one encode thread -> sealed segments.

The encode thread is the only one that touches the encoder and the session writer: every
control request (pause, resume, stop) is a command it carries out between two frames, so the
chain's order is the media's order and nothing in the pipeline needs a lock. (The one other
writer of links is ``recorder.trusted_time``'s ``clock_skew`` mark, an event that changes no
state; the writer's lock puts it between two links.) What it does
with frames and samples is ``recorder.pipeline``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from evidence_store import DeviceStats, Manifest, SessionWriter
from hardware import (
    MONOTONIC,
    AudioChunk,
    Camera,
    Clock,
    HardwareError,
    Image,
    Microphone,
    VideoFrame,
)
from recorder.capture import Capture
from recorder.disk_guard import disk_full_reason, is_disk_full
from recorder.errors import RecorderError, RecorderStateError
from recorder.health import AudioMeter, DeviceHealth
from recorder.media import Compositor, Picture
from recorder.pipeline import EvidenceWriter, Pipeline
from recorder.recovery import chain_stored_segment
from recorder.settings import RecorderSettings
from recorder.status import (
    RecorderState,
    RecorderStatus,
    SealTiming,
    StatusBoard,
    describe_failure,
    seal_latency,
    wait_for_media,
)

AUDIO_QUEUE_CHUNKS = 500  # 10 s of 20 ms chunks: audio is small, keep plenty
ENDED = {RecorderState.READY, RecorderState.STOPPED, RecorderState.CLOSED}  # no commands

CommandKind = Literal["pause", "resume", "stop"]
log = logging.getLogger("sealroom.recorder")


@dataclass
class _Command:
    kind: CommandKind
    reason: str
    at_ns: int  # when it was asked for: media captured before this belongs to the recording
    done: threading.Event = field(default_factory=threading.Event)
    result: Manifest | None = None
    error: BaseException | None = None


class SessionRecorder:
    """Records one session from ``cameras`` and ``microphone`` into ``writer``.

    ``cameras`` is the main camera, or the main camera and a second one shown inset; each is
    read by its own capture thread and lost or restored on its own, and ``picture`` says how
    the frame is composed (layout, burned-in caption). Every device and the recorder share
    ``clock``: real time, unless a test runs synthetic devices faster.

    ``start`` opens the devices and begins recording; ``pause``, ``resume`` and ``stop`` return
    once the change is sealed. An error in the pipeline is raised, as ``RecorderError``, by the
    next ``pause``/``resume``/``stop``/``wait_until``; ``status`` reports it instead. After a
    failure the session is not sealed: the caller owns ``writer`` and decides (typically
    ``writer.interrupt``). All methods are thread-safe.

    ``on_seal`` hears of each segment's seal timing as it is sealed (for metrics).

    ``guard`` is asked before each new segment; a reason from it (e.g. the disk is nearly
    full) makes the recorder stop and seal the session itself, and ``status().alarm`` says
    why. A full disk mid-segment does the same: the segment in flight is abandoned, the
    session stopped ("disk full") and sealed; the guard is asked first, so that it can free
    space it holds in reserve for the seal.
    """

    def __init__(
        self,
        cameras: Camera | Sequence[Camera],
        microphone: Microphone,
        settings: RecorderSettings,
        writer: EvidenceWriter,
        *,
        guard: Callable[[], str | None] | None = None,
        picture: Picture | None = None,
        clock: Clock = MONOTONIC,
        on_seal: Callable[[SealTiming], None] | None = None,
    ) -> None:
        # One camera alone is accepted too: a room without a second camera.
        self.cameras: tuple[Camera, ...] = (
            tuple(cameras) if isinstance(cameras, Sequence) else (cameras,)
        )
        self.camera = self.cameras[0]
        self.microphone = microphone
        self.clock = clock
        self.settings = settings
        self.writer = writer
        self._guard = guard
        self._guarded_at = -1  # the sealed-segment count at the last guard check
        self._api_lock = threading.Lock()  # one control request at a time
        self._board = StatusBoard(
            fps=settings.fps, sample_rate=settings.sample_rate, on_seal=on_seal
        )
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._closing = threading.Event()
        compositor = Compositor(
            settings.width, settings.height, cameras=[c.name for c in self.cameras], picture=picture
        )
        if len({c.name for c in self.cameras}) != len(self.cameras):
            raise RecorderError("the cameras need distinct names (they name them in the chain)")
        arrived = threading.Event()  # shared: the encode thread waits once for any device
        self._videos = tuple(_video_capture(camera, settings, arrived) for camera in self.cameras)
        self._video = self._videos[0]
        self._meter = AudioMeter(settings.sample_rate)
        self._audio = Capture[AudioChunk](
            name=microphone.name,
            read=microphone.read,
            reopen=lambda: _reopen(microphone),
            capacity=AUDIO_QUEUE_CHUNKS,
            arrived=arrived,
            observe=self._meter.observe,
        )
        self._pipeline = Pipeline(
            settings=settings,
            writer=writer,
            cameras=self._videos,
            audio=self._audio,
            board=self._board,
            compositor=compositor,
            clock=clock,
        )
        self._encoder = threading.Thread(target=self._encode_loop, name="encoder", daemon=True)

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the devices and start recording."""
        with self._api_lock:
            if self._board.state is not RecorderState.READY:
                raise RecorderStateError(
                    f"cannot start: the recorder is "
                    f"{self._board.state.value} (a recorder starts once)"
                )
            requested_ns = self.clock.now_ns()  # before opening: the first frame belongs in
            devices: list[Camera | Microphone] = [*self.cameras, self.microphone]
            try:
                for device in devices:
                    _open(device)
                self._check_formats()  # after opening: real devices settle their format then
            except RecorderError:
                self._close_devices()
                raise
            self._pipeline.begin_run(requested_ns)
            self._board.set_state(RecorderState.RECORDING)
            for capture in self._videos:
                capture.start()
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
        sealed manifest. The devices are released, even when this raises. The reason is on
        disk before anything else is done, so a kill while stopping keeps it."""
        try:
            if self._board.state not in ENDED:
                self.writer.request_stop(reason)
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
        captures: list[Capture[VideoFrame] | Capture[AudioChunk]] = [*self._videos, self._audio]
        for capture in captures:
            capture.stop()
        self._close_devices()
        for capture in captures:
            capture.join(timeout=2)
        if self._encoder.is_alive() and threading.current_thread() is not self._encoder:
            self._encoder.join(timeout=5)
        self._board.set_state(
            RecorderState.CLOSED, unless={RecorderState.STOPPED, RecorderState.FAILED}
        )

    def wait_until(
        self,
        media_seconds: float,
        *,
        progress: Callable[[float], None] | None = None,
        timeout: float | None = None,
    ) -> RecorderStatus:
        """Block until ``media_seconds`` of media are recorded (or ``timeout`` seconds pass;
        then the status returned shows less). ``progress`` gets the recorded media seconds
        about 4 times a second. Raises if the recording fails or is stopped first. While paused
        the media does not grow: it waits for a resume (from another thread) or the timeout."""
        return wait_for_media(
            self, self._board, media_seconds, progress=progress, timeout=timeout, ended=ENDED
        )

    def status(self) -> RecorderStatus:
        """The current state, counters and each device's health. Never raises: a failure
        shows as ``error``."""
        feeds = self._pipeline.feeds
        dropped = sum(c.dropped + f.late for c, f in zip(self._videos, feeds, strict=True))
        return self._board.snapshot(capture_dropped=dropped, devices=self._health())

    def seal_timings(self) -> tuple[SealTiming, ...]:
        """When each sealed segment's media was captured and when it was sealed (the most
        recent 100 000): the recorder's real-time headroom."""
        return self._board.seal_timings()

    def _health(self) -> tuple[DeviceHealth, ...]:
        now = self.clock.now_ns()

        def age(capture: Capture[VideoFrame] | Capture[AudioChunk]) -> float | None:
            last = capture.last_captured_ns
            return None if last is None else max(0.0, (now - last) / 1e9)

        cameras = tuple(
            DeviceHealth(
                name=c.name,
                kind="camera",
                frames_received=c.received,
                frames_dropped=c.dropped + feed.late,
                last_frame_age_seconds=age(c),
                audio_level_dbfs=None,
                lost=self._board.is_lost(c.name),
                error=c.last_error,
            )
            for c, feed in zip(self._videos, self._pipeline.feeds, strict=True)
        )
        audio = self._audio
        microphone = DeviceHealth(
            name=audio.name,
            kind="microphone",
            frames_received=audio.received,
            frames_dropped=audio.dropped,
            last_frame_age_seconds=age(audio),
            audio_level_dbfs=self._meter.level_dbfs,
            lost=self._board.is_lost(audio.name),
            error=audio.last_error,
            clock_corrections=self._pipeline.clock_corrections,
        )
        return (*cameras, microphone)

    def latest_frame(self) -> Image | None:
        """The last picture encoded (the live preview), or None before the first. Do not
        modify it."""
        return self._pipeline.latest_image

    def _command(self, kind: CommandKind, reason: str) -> Manifest | None:
        with self._api_lock:
            if self._board.state in ENDED:
                raise RecorderStateError(
                    f"cannot {kind}: the recorder is {self._board.state.value}"
                )
            self._raise_failure()
            command = _Command(kind, reason, at_ns=self.clock.now_ns())
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
        # Cameras may deliver any size and rate: the compositor scales each picture and the
        # frame sync resamples each camera to the room's rate by capture time. Sound is not
        # resampled here: each microphone converts to the room's format itself.
        s, mic = self.settings, self.microphone
        if (mic.sample_rate, mic.channels) != (s.sample_rate, s.channels):
            raise RecorderError(
                f"microphone {mic.name} delivers {mic.sample_rate} Hz, "
                f"{mic.channels} channel(s); the room records "
                f"{s.sample_rate} Hz, {s.channels} channel(s)"
            )

    def _close_devices(self) -> None:
        devices: list[Camera | Microphone] = [*self.cameras, self.microphone]
        for device in devices:
            # Closing is best effort: what was recorded is already written.
            with contextlib.suppress(HardwareError):
                device.close()

    # -- the encode thread -----------------------------------------------------------------

    def _encode_loop(self) -> None:
        try:
            while self._board.state is not RecorderState.STOPPED and not self._closing.is_set():
                self._carry_out_commands()
                if self._board.state is RecorderState.RECORDING:
                    if self._guard_stops_recording():
                        break
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
                command.error = exc
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
        self.writer.device_stats(self.device_stats())
        manifest = self.writer.stop(command.reason)
        self._board.set_state(RecorderState.STOPPED)
        return manifest

    def device_stats(self) -> list[DeviceStats]:
        """What each device delivered and what the recorder did with it, so far (sealed into
        the chain at the stop). The composite's segments hold every device, so each device
        shows the same seal latency."""
        pipeline, board = self._pipeline, self._board
        latency = seal_latency(board.seal_timings())
        status = board.snapshot()
        cameras = [
            DeviceStats(
                device=capture.name,
                kind="camera",
                frames_received=capture.received,
                frames_dropped=capture.dropped + feed.late,
                frames_filled=pipeline.filled[number],
                silence_filled_samples=0,
                samples_cut=0,
                samples_resampled=0,
                clock_corrections=0,
                join_wait_us=pipeline.join_wait_us[number],
                seal_latency=latency,
            )
            for number, (capture, feed) in enumerate(zip(self._videos, pipeline.feeds, strict=True))
        ]
        audio = self._audio
        microphone = DeviceStats(
            device=audio.name,
            kind="microphone",
            frames_received=audio.received,
            frames_dropped=audio.dropped,
            frames_filled=0,
            silence_filled_samples=round(status.silence_filled_seconds * self.settings.sample_rate),
            samples_cut=pipeline.samples_cut,
            samples_resampled=pipeline.samples_resampled,
            clock_corrections=pipeline.clock_corrections,
            join_wait_us=pipeline.join_wait_us[-1],
            seal_latency=latency,
        )
        return [*cameras, microphone]

    def _guard_stops_recording(self) -> bool:
        """Ask the guard once before each new segment; if it gives a reason, stop and seal
        as a stop request would (what was captured until now is recorded)."""
        if self._guard is None:
            return False
        sealed = self._board.snapshot().segments_sealed
        if sealed == self._guarded_at:
            return False
        self._guarded_at = sealed
        reason = self._guard()
        if reason is None:
            return False
        log.error("ALARM: the recorder stops itself: %s", reason)
        self._board.alarm(reason)
        self._carry_out(_Command("stop", reason, at_ns=self.clock.now_ns()))
        self._release_commands(RecorderStateError(f"the recorder stopped itself: {reason}"))
        return True

    def _stop_for_full_disk(self, exc: BaseException) -> None:
        """The disk filled mid-segment: abandon the segment (it stays in flight, unsealed),
        then stop and seal the session with the space the guard gives back."""
        reason = disk_full_reason(exc)
        log.error("the disk filled: %s", describe_failure(exc))
        log.error("ALARM: the recorder stops itself: %s", reason)
        self._board.alarm(reason)
        self._pipeline.abandon()
        if self._guard is not None:
            self._guard()  # frees its reserve: the seal needs a little space
        if isinstance(self.writer, SessionWriter):
            chain_stored_segment(self.writer)  # stored, but the disk filled before its link
        self.writer.stop(reason)
        self._board.set_state(RecorderState.STOPPED)
        self._release_commands(RecorderStateError(f"the recorder stopped itself: {reason}"))

    def _release_commands(self, error: BaseException | None) -> None:
        """Wake anyone waiting on a command that will not be carried out."""
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            command.error = error
            command.done.set()

    def _fail(self, exc: BaseException) -> None:
        if self._board.state is RecorderState.STOPPED:
            return  # it stopped itself for a full disk: this is that error reaching the loop
        if is_disk_full(exc) and self._board.failure is None:
            try:
                self._stop_for_full_disk(exc)
                return
            except BaseException as stop_error:  # the seal failed too: a plain failure now
                exc = stop_error
        if not self._board.fail(exc):
            return
        self._pipeline.abandon()  # the partial file stays in flight for recovery
        # Release anyone waiting on a command: they will see the failure.
        self._release_commands(None)


def _open(device: Camera | Microphone) -> None:
    try:
        device.open()
    except HardwareError as exc:
        raise RecorderError(f"cannot open {device.name}: {exc}") from exc


def _video_capture(
    camera: Camera, settings: RecorderSettings, arrived: threading.Event
) -> Capture[VideoFrame]:
    fps = max(settings.fps, camera.fps)  # a faster camera fills its buffer sooner
    return Capture[VideoFrame](
        name=camera.name,
        read=camera.read,
        reopen=lambda: _reopen(camera),
        capacity=max(2, round(settings.capture_buffer_seconds * fps)),
        arrived=arrived,
    )


def _reopen(device: Camera | Microphone) -> None:
    device.close()
    device.open()
