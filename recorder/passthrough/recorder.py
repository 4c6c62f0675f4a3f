"""Recording a room of IP cameras as they send: one track per camera, one for the sound.

``PassthroughRecorder`` has the control surface of ``SessionRecorder`` (start, pause,
resume, stop, status, ...), so ``sealroom record`` and the room's recorder service drive
either. Each camera's track thread remuxes its packets into sealed segments
(``camera_track``), the sound track thread resamples the room's sound onto the session clock
and encodes it (``sound_track``); nothing is decoded but sound. A monitor thread raises a
track's failure and asks the disk guard before new segments, as the composite recorder does.

Pause and stop end the current run (``runs``): every track seals what it holds of media
captured before the request, then the pause or the stop is written. At the stop, what each
device delivered (``DeviceStats``) is written into the chain just before ``stopped``, so the
manifest carries it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from evidence_store import DeviceStats, Manifest, TrackedMedia, TrackInfo
from hardware import MONOTONIC, CameraSound, Clock, HardwareError, Image, Microphone, RtspStream
from recorder.errors import RecorderError, RecorderStateError
from recorder.health import DeviceHealth
from recorder.passthrough.camera_track import CameraTrack
from recorder.passthrough.runs import Run
from recorder.passthrough.sound_track import SoundTrack, SoundWriter
from recorder.settings import RecorderSettings
from recorder.status import (
    RecorderState,
    RecorderStatus,
    SealTiming,
    StatusBoard,
    describe_failure,
    wait_for_media,
)

log = logging.getLogger("sealroom.recorder")
ENDED = {RecorderState.READY, RecorderState.STOPPED, RecorderState.CLOSED}
SOUND_TRACK = "sound"
FINISH_GRACE_SECONDS = 1.0  # a track has this long past its read timeout to seal its part
MONITOR_SECONDS = 0.25


class PassthroughWriter(SoundWriter, Protocol):
    """What the recorder needs of ``evidence_store.SessionWriter``."""

    def pause(self, reason: str) -> None: ...
    def resume(self, reason: str) -> None: ...
    def device_stats(self, stats: list[DeviceStats]) -> None: ...
    def stop(self, reason: str) -> Manifest: ...


def camera_track_id(number: int) -> str:
    """``cam1``, ``cam2``, ...: the track of the room's camera ``number`` (from 1)."""
    return f"cam{number}"


def passthrough_media(
    settings: RecorderSettings, cameras: Sequence[str], microphone: str
) -> TrackedMedia:
    """The session's format, as sealed into its first link: a track per camera, then the
    sound."""
    tracks = [
        TrackInfo(id=camera_track_id(number), kind="camera", device=name)
        for number, name in enumerate(cameras, start=1)
    ]
    tracks.append(TrackInfo(id=SOUND_TRACK, kind="sound", device=microphone))
    return TrackedMedia(
        mode="passthrough",
        sample_rate=settings.sample_rate,
        channels=settings.channels,
        segment_seconds=settings.segment_seconds,
        tracks=tracks,
    )


class PassthroughRecorder:
    """Records ``cameras`` and ``microphone`` into ``writer``, one track each.

    ``sound_from`` names the camera (its index in ``cameras``) whose own sound is the room's:
    its track decodes the sound packets it receives for the sound track (``microphone`` is
    then only the name the sound is recorded under). All methods are thread-safe."""

    def __init__(
        self,
        cameras: Sequence[RtspStream],
        microphone: Microphone,
        settings: RecorderSettings,
        writer: PassthroughWriter,
        *,
        guard: Callable[[], str | None] | None = None,
        clock: Clock = MONOTONIC,
        sound_from: int | None = None,
    ) -> None:
        if not cameras:
            raise RecorderError("a passthrough room needs at least one camera")
        if len({c.name for c in cameras}) != len(cameras):
            raise RecorderError("the cameras need distinct names (they name them in the chain)")
        self.settings = settings
        self.writer = writer
        self.clock = clock
        self.microphone = microphone
        self._guard = guard
        self._guarded_at = 0
        self._board = StatusBoard(fps=settings.fps, sample_rate=settings.sample_rate)
        self._api_lock = threading.Lock()
        self._run: Run | None = None
        self._closing = threading.Event()
        shared = CameraSound(microphone.name, settings.sample_rate, settings.channels)
        self._cameras = tuple(
            CameraTrack(
                track_id=camera_track_id(number),
                stream=stream,
                writer=writer,
                board=self._board,
                runs=self._current_run,
                segment_seconds=settings.segment_seconds,
                clock=clock,
                sound=shared.feed if sound_from == number - 1 else None,
                sound_format=(settings.sample_rate, settings.channels),
            )
            for number, stream in enumerate(cameras, start=1)
        )
        self._sound = SoundTrack(
            track_id=SOUND_TRACK,
            microphone=shared if sound_from is not None else microphone,
            writer=writer,
            board=self._board,
            runs=self._current_run,
            sample_rate=settings.sample_rate,
            channels=settings.channels,
            segment_seconds=settings.segment_seconds,
            bit_rate=settings.audio_bitrate,
            timeout_seconds=settings.device_timeout_seconds,
            clock=clock,
        )
        self._monitor = threading.Thread(target=self._watch, name="monitor", daemon=True)

    @property
    def tracks(self) -> tuple[CameraTrack | SoundTrack, ...]:
        return (*self._cameras, self._sound)

    # -- control ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect the cameras and open the microphone, then record. RecorderError, with
        everything closed again, when a device does not answer."""
        with self._api_lock:
            if self._board.state is not RecorderState.READY:
                raise RecorderStateError(
                    f"cannot start: the recorder is {self._board.state.value} "
                    "(a recorder starts once)"
                )
            self._run = Run(origin_ns=self.clock.now_ns(), offset_us=0)
            try:
                self._sound.microphone.open()
            except HardwareError as exc:
                self._run = None
                raise RecorderError(f"cannot open {self.microphone.name}: {exc}") from exc
            for track in self.tracks:
                track.start()
            for camera in self._cameras:
                camera.connected.wait(camera.stream.open_timeout + 2)
            refused = [c for c in self._cameras if c.open_error or not c.connected.is_set()]
            if refused:
                self._run = None
                self._shut_down()
                first = refused[0]
                raise RecorderError(f"cannot open {first.name}: {first.open_error or 'no answer'}")
            self._board.set_state(RecorderState.RECORDING)
            self._monitor.start()

    def pause(self, reason: str) -> None:
        """Seal what every track holds, then record the pause and its reason."""
        with self._api_lock:
            self._require(RecorderState.RECORDING, "pause")
            self._end_run()
            self.writer.pause(reason)
            self._board.set_state(RecorderState.PAUSED)

    def resume(self, reason: str) -> None:
        """Record the resume; each camera's track starts again at its next keyframe."""
        with self._api_lock:
            self._require(RecorderState.PAUSED, "resume")
            self.writer.resume(reason)
            offset = max(track.end_us for track in self.tracks)
            self._run = Run(origin_ns=self.clock.now_ns(), offset_us=offset)
            self._board.set_state(RecorderState.RECORDING)

    def stop(self, reason: str) -> Manifest:
        """Seal what every track holds, record each device's stats and the stop, and return
        the sealed manifest. The devices are released, even when this raises."""
        try:
            with self._api_lock:
                state = self._board.state
                if state in ENDED or state is RecorderState.FAILED:
                    self._raise_failure()
                    raise RecorderStateError(f"cannot stop: the recorder is {state.value}")
                return self._stop(reason)
        finally:
            self.close()

    def close(self) -> None:
        """Stop every thread and release the devices, sealing nothing more. Idempotent."""
        self._closing.set()
        self._shut_down()
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
        """As ``SessionRecorder.wait_until``: the session's timeline is the measure."""
        return wait_for_media(
            self, self._board, media_seconds, progress=progress, timeout=timeout, ended=ENDED
        )

    def status(self) -> RecorderStatus:
        """The state, counters and each device's health; never raises."""
        dropped = sum(c.counters.frames_dropped for c in self._cameras)
        return self._board.snapshot(
            capture_dropped=dropped, devices=self._health(), media_seconds=self._media_seconds()
        )

    def seal_timings(self) -> tuple[SealTiming, ...]:
        return self._board.seal_timings()

    def device_stats(self) -> list[DeviceStats]:
        """What each device delivered so far (sealed into the chain at the stop)."""
        return [track.counters.stats() for track in self.tracks]

    def latest_frame(self) -> Image | None:
        """Nothing is decoded in passthrough: there is no preview picture."""
        return None

    # -- internals -------------------------------------------------------------------------------

    def _current_run(self) -> Run | None:
        return self._run

    def _require(self, state: RecorderState, action: str) -> None:
        self._raise_failure()
        if self._board.state is not state:
            raise RecorderStateError(f"cannot {action}: the recorder is {self._board.state.value}")

    def _stop(self, reason: str) -> Manifest:
        if self._board.state is RecorderState.RECORDING:
            self._end_run()
        self.writer.device_stats(self.device_stats())
        manifest = self.writer.stop(reason)
        self._board.set_state(RecorderState.STOPPED)
        return manifest

    def _end_run(self) -> None:
        """Every track seals what it holds of media captured before now."""
        run = self._run
        assert run is not None
        run.end(self.clock.now_ns())
        names = {track.track_id for track in self.tracks}
        wait = max(c.stream.read_timeout for c in self._cameras) + FINISH_GRACE_SECONDS
        for track_id in run.wait_finished(names, wait):
            track = next(t for t in self.tracks if t.track_id == track_id)
            track.finish_run(run)  # silent: seal what it holds for it
        self._run = None

    def _shut_down(self) -> None:
        for track in self.tracks:
            track.stop()
        for track in self.tracks:
            track.join(timeout=5)
        for camera in self._cameras:
            camera.abandon()
        with contextlib.suppress(HardwareError):
            self._sound.microphone.close()

    def _watch(self) -> None:
        """Raise a track's failure; ask the guard before new segments."""
        while not self._closing.wait(MONITOR_SECONDS):
            failed = next((t for t in self.tracks if t.failure is not None), None)
            if failed is not None and failed.failure is not None:
                if self._board.fail(failed.failure):
                    log.error("track %s failed: %s", failed.track_id, failed.failure)
                return
            if self._guard is None or self._board.state is not RecorderState.RECORDING:
                continue
            sealed = self._board.snapshot().segments_sealed
            if sealed == self._guarded_at:
                continue
            self._guarded_at = sealed
            reason = self._guard()
            if reason is None:
                continue
            log.error("ALARM: the recorder stops itself: %s", reason)
            self._board.alarm(reason)
            with self._api_lock:
                if self._board.state in (RecorderState.RECORDING, RecorderState.PAUSED):
                    self._stop(reason)
            return

    def _raise_failure(self) -> None:
        failure = self._board.failure
        if failure is not None:
            raise RecorderError(f"recording failed: {describe_failure(failure)}") from failure

    def _media_seconds(self) -> float:
        return max(track.position_us(self._run) for track in self.tracks) / 1e6

    def _health(self) -> tuple[DeviceHealth, ...]:
        now = self.clock.now_ns()

        def age(last: int | None) -> float | None:
            return None if last is None else max(0.0, (now - last) / 1e9)

        cameras = tuple(
            DeviceHealth(
                name=c.name,
                kind="camera",
                frames_received=c.counters.frames_received,
                frames_dropped=c.counters.frames_dropped,
                last_frame_age_seconds=age(c.last_captured_ns),
                audio_level_dbfs=None,
                lost=self._board.is_lost(c.name),
                error=c.last_error,
            )
            for c in self._cameras
        )
        sound = self._sound
        microphone = DeviceHealth(
            name=sound.name,
            kind="microphone",
            frames_received=sound.counters.frames_received,
            frames_dropped=0,
            last_frame_age_seconds=age(sound.last_captured_ns),
            audio_level_dbfs=sound.meter.level_dbfs,
            lost=self._board.is_lost(sound.name),
            error=sound.last_error,
            clock_corrections=sound.counters.clock_corrections,
        )
        return (*cameras, microphone)
