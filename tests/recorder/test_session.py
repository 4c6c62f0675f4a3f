"""SessionRecorder end to end: real devices (synthetic), real encoders, the real SessionWriter.

Devices are paced in real time, so every test here takes a few seconds of wall-clock time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from hardware.errors import HardwareError
from hardware.sources import AudioChunk, VideoFrame
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from recorder.errors import RecorderError, RecorderStateError
from recorder.media.overlay import no_signal_card
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from recorder.status import RecorderState

SETTINGS = RecorderSettings(width=320, height=240, fps=30, segment_seconds=1)


@dataclass(frozen=True)
class Room:
    store: FilesystemStore
    trust: TrustStore
    writer: SessionWriter

    def segment(self, name: str) -> Path:
        return self.writer.path / "segments" / name


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    store = FilesystemStore.open(tmp_path / "store", create=True)
    signer = ensure_device_identity(tmp_path / "keys", tmp_path / "trust", device_name="room-1")
    writer = SessionWriter.start(
        store, signer, SessionMetadata(case_number="VKS-1/2026", room="P1"), media_info(SETTINGS)
    )
    yield Room(store, TrustStore.from_paths([tmp_path / "trust"]), writer)
    writer.close()


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def camera_index_of(image: np.ndarray, camera: SyntheticCamera, candidates: range) -> int:
    """Which frame of the (deterministic) pattern a decoded picture is: the closest render."""
    errors = [np.mean((camera.render(i).astype(np.int16) - image) ** 2) for i in candidates]
    return candidates[int(np.argmin(errors))]


def test_a_recording_is_sealed_and_verifies(room: Room) -> None:
    recorder = SessionRecorder(
        SyntheticCamera(320, 240), SyntheticMicrophone(), SETTINGS, room.writer
    )
    recorder.start()
    seen: list[float] = []
    status = recorder.wait_until(2.0, progress=seen.append, timeout=30)
    assert status.state is RecorderState.RECORDING and status.media_seconds >= 2.0
    assert seen == sorted(seen) and seen[-1] >= 2.0
    manifest = recorder.stop("questioning finished")
    assert recorder.status().state is RecorderState.STOPPED
    assert manifest.stop_reason == "questioning finished"
    assert [s.index for s in manifest.segments] == list(range(len(manifest.segments)))
    assert manifest.segments[0].start_us == 0
    for before, after in zip(manifest.segments, manifest.segments[1:], strict=False):
        assert after.start_us == before.start_us + before.duration_us
    verified = verify_session(room.store, room.writer.session_id, room.trust)
    assert verified.duration_us == manifest.duration_us >= 2_000_000
    assert list(room.store.inflight_dir(room.writer.prefix).glob("*.mp4")) == []


def test_nothing_is_encoded_while_paused(room: Room) -> None:
    camera = SyntheticCamera(320, 240)
    recorder = SessionRecorder(camera, SyntheticMicrophone(), SETTINGS, room.writer)
    recorder.start()
    recorder.wait_until(1.3, timeout=30)
    recorder.pause("the accused asked for water")
    paused = recorder.status()
    assert paused.state is RecorderState.PAUSED
    # Pausing sealed the partial segment: nothing is left unsealed during the pause.
    assert paused.segments_sealed == 2
    time.sleep(1.5)
    assert recorder.status().media_seconds == paused.media_seconds
    recorder.resume("questioning resumes")
    recorder.wait_until(paused.media_seconds + 1.0, timeout=30)
    manifest = recorder.stop("done")

    assert len(manifest.pauses) == 1
    assert manifest.pauses[0].reason == "the accused asked for water"
    assert manifest.pauses[0].resume_reason == "questioning resumes"
    durations = [s.duration_us for s in manifest.segments]
    assert durations[0] == 1_000_000 and 0 < durations[1] < 1_000_000  # cut short by the pause
    assert manifest.duration_us < 3_500_000  # 1.5 s paused are not in it

    # The pictures say the same: the first frame after the resume is ~1.5 s of camera time
    # (45 frames) after the last frame before the pause.
    last_before = decoded_frames(room.segment(manifest.segments[1].name))[-1]
    first_after = decoded_frames(room.segment(manifest.segments[2].name))[0]
    before = camera_index_of(last_before, camera, range(0, 120))
    after = camera_index_of(first_after, camera, range(before, before + 150))
    assert after - before >= 40


def test_requests_that_do_not_fit_are_refused_and_change_nothing(room: Room) -> None:
    recorder = SessionRecorder(
        SyntheticCamera(320, 240), SyntheticMicrophone(), SETTINGS, room.writer
    )
    with pytest.raises(RecorderStateError, match="cannot pause: the recorder is ready"):
        recorder.pause("too early")
    recorder.start()
    with pytest.raises(RecorderStateError, match="cannot start: the recorder is recording"):
        recorder.start()
    with pytest.raises(RecorderStateError, match="cannot resume: the recorder is recording"):
        recorder.resume("not paused")
    recorder.pause("break")
    with pytest.raises(RecorderStateError, match="cannot pause: the recorder is paused"):
        recorder.pause("again")
    recorder.resume("back")
    recorder.wait_until(0.5, timeout=30)
    manifest = recorder.stop("done")
    with pytest.raises(RecorderStateError, match="the recorder is stopped"):
        recorder.resume("after the end")
    assert len(manifest.pauses) == 1
    verify_session(room.store, room.writer.session_id, room.trust)


OUTAGE_SECONDS = (0.6, 1.6)  # when, after they open, the unplugged devices below go quiet


def unplugged(opened_ns: int, captured_ns: int) -> bool:
    return OUTAGE_SECONDS[0] <= (captured_ns - opened_ns) / 1e9 < OUTAGE_SECONDS[1]


class UnpluggedMicrophone(SyntheticMicrophone):
    """A microphone whose cable is pulled for a second: it delivers nothing meanwhile."""

    opened_ns = 0

    def open(self) -> None:
        super().open()
        self.opened_ns = time.monotonic_ns()

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        chunk = super().read(timeout)
        return None if chunk and unplugged(self.opened_ns, chunk.captured_ns) else chunk


class UnpluggedCamera(SyntheticCamera):
    """A camera whose cable is pulled for a second: it delivers nothing meanwhile."""

    opened_ns = 0

    def open(self) -> None:
        super().open()
        self.opened_ns = time.monotonic_ns()

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        frame = super().read(timeout)
        return None if frame and unplugged(self.opened_ns, frame.captured_ns) else frame


def test_a_lost_microphone_is_recorded_and_its_gap_filled_with_silence(room: Room) -> None:
    recorder = SessionRecorder(
        SyntheticCamera(320, 240), UnpluggedMicrophone(), SETTINGS, room.writer
    )
    recorder.start()
    recorder.wait_until(2.5, timeout=30)
    status = recorder.status()
    manifest = recorder.stop("done")
    assert 0.8 <= status.silence_filled_seconds <= 1.2
    assert status.lost_devices == ()
    [outage] = manifest.device_outages  # the microphone's only: the camera was never lost
    assert outage.device == "synthetic-mic" and outage.restored_at is not None
    # The picture went on, and the timeline is whole. A frame may be repeated when a busy
    # machine delivers one late (that is jitter, not an outage), but never a lost camera's.
    assert status.frames_filled <= 3
    verify_session(room.store, room.writer.session_id, room.trust)
    with av.open(str(room.segment(manifest.segments[1].name))) as container:
        audio = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert np.abs(audio[:4000]).max() < 0.002  # 1.0-1.08 s: silence where the mic was gone


def test_a_lost_camera_is_recorded_and_its_gap_shown_as_no_signal(room: Room) -> None:
    recorder = SessionRecorder(
        UnpluggedCamera(320, 240), SyntheticMicrophone(), SETTINGS, room.writer
    )
    recorder.start()
    recorder.wait_until(2.5, timeout=30)
    status = recorder.status()
    manifest = recorder.stop("done")
    assert 25 <= status.frames_filled <= 35
    [outage] = manifest.device_outages
    assert outage.device == "synthetic-cam" and outage.restored_at is not None
    # The microphone worked throughout: no silence was filled for it (a late chunk within the
    # jitter tolerance, or a microphone starting a moment after the camera, is not missing).
    assert status.silence_filled_seconds == 0
    frames = decoded_frames(room.segment(manifest.segments[1].name))
    card = no_signal_card(320, 240, "synthetic-cam")
    # 1.17 s: the NO SIGNAL card, never a frozen last picture.
    assert np.abs(frames[5].astype(np.int16) - card).mean() < 4
    assert np.abs(frames[-1].astype(np.int16) - card).mean() > 40  # 1.97 s: the camera is back
    verify_session(room.store, room.writer.session_id, room.trust)


class DisconnectingCamera(SyntheticCamera):
    """A camera whose driver reports an error once, 0.6 s in, and works again when reopened."""

    opened_ns = 0
    failed = False

    def open(self) -> None:
        super().open()
        self.opened_ns = time.monotonic_ns()

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        if not self.failed and time.monotonic_ns() - self.opened_ns > 600_000_000:
            self.failed = True
            raise HardwareError("USB camera disconnected")
        return super().read(timeout)


def test_a_device_error_is_the_recorded_reason_and_the_device_is_reopened(room: Room) -> None:
    camera = DisconnectingCamera(320, 240)
    recorder = SessionRecorder(camera, SyntheticMicrophone(), SETTINGS, room.writer)
    recorder.start()
    recorder.wait_until(2.8, timeout=30)
    manifest = recorder.stop("done")
    [outage] = manifest.device_outages
    assert outage.reason == "USB camera disconnected"
    assert outage.restored_at is not None  # reopened after the capture thread's pause
    assert camera.failed
    verify_session(room.store, room.writer.session_id, room.trust)


class ResolutionSwitchingCamera(SyntheticCamera):
    """A camera that renegotiates to another size mid-session (as some USB cameras do)."""

    def render(self, index: int) -> np.ndarray:
        image = super().render(index)
        return image if index < 20 else np.ascontiguousarray(image[: self.height // 2])


def test_a_camera_that_changes_size_is_scaled_into_the_picture(room: Room) -> None:
    recorder = SessionRecorder(
        ResolutionSwitchingCamera(320, 240), SyntheticMicrophone(), SETTINGS, room.writer
    )
    recorder.start()
    recorder.wait_until(1.5, timeout=30)
    manifest = recorder.stop("done")
    assert manifest.device_outages == []  # a new size is not a lost camera
    assert recorder.status().frames_filled <= 3  # at most jitter on a busy machine
    frame = decoded_frames(room.segment(manifest.segments[1].name))[0]
    # 320x120 fitted into 320x240: the same width, black bars above and below.
    assert frame[:50].max() < 30 and frame[-50:].max() < 30 and frame[60:180].max() > 150
    verify_session(room.store, room.writer.session_id, room.trust)


class CrashingCamera(SyntheticCamera):
    """A camera whose driver fails with an unexpected error (a bug, not a device error)."""

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        frame = super().read(timeout)
        if frame is not None and frame.captured_ns - self._schedule.due_ns(0) > 600_000_000:
            raise RuntimeError("driver bug")
        return frame


def test_a_pipeline_failure_surfaces_on_the_next_call(room: Room) -> None:
    recorder = SessionRecorder(
        CrashingCamera(320, 240), SyntheticMicrophone(), SETTINGS, room.writer
    )
    recorder.start()
    with pytest.raises(
        RecorderError, match="recording failed: capture from synthetic-cam failed: driver bug"
    ):
        recorder.wait_until(3.0, timeout=30)
    status = recorder.status()
    assert status.state is RecorderState.FAILED
    assert status.error is not None and "driver bug" in status.error
    with pytest.raises(RecorderError, match="recording failed"):
        recorder.pause("too late")
    with pytest.raises(RecorderError, match="recording failed"):
        recorder.stop("too late")
    # The caller still owns the session and seals what there is.
    manifest = room.writer.interrupt("recorder failed")
    assert manifest.interrupted


def test_sound_and_picture_stay_in_step(room: Room) -> None:
    """Segment 1 must hold the camera's frames and the microphone's samples of second 1."""
    camera, mic = SyntheticCamera(320, 240), SyntheticMicrophone()
    recorder = SessionRecorder(camera, mic, SETTINGS, room.writer)
    recorder.start()
    recorder.wait_until(2.0, timeout=30)
    manifest = recorder.stop("done")
    second = room.segment(manifest.segments[1].name)

    first_frame = decoded_frames(second)[0]
    assert camera_index_of(first_frame, camera, range(20, 40)) == 30

    with av.open(str(second)) as container:
        sound = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    reference = np.concatenate([mic.samples(i) for i in range(150)]).ravel() / 32768
    # Where in the microphone's signal does the segment's sound begin? (cross-correlation
    # over +-100 ms around the expected 48000).
    window = sound[:24000]
    lags = range(48000 - 4800, 48000 + 4800)
    scores = [float(np.dot(window, reference[lag : lag + len(window)])) for lag in lags]
    offset_ms = (lags[int(np.argmax(scores))] - 48000) / 48
    assert abs(offset_ms) <= 15  # devices opened a moment apart; lip sync needs < ~45 ms


def test_closing_without_stop_leaves_the_open_segment_in_flight(room: Room) -> None:
    """Abandoning a recording (what a crash does) keeps the unsealed media as it was."""
    recorder = SessionRecorder(
        SyntheticCamera(320, 240),
        SyntheticMicrophone(),
        SETTINGS.model_copy(update={"segment_seconds": 4}),
        room.writer,
    )
    recorder.start()
    recorder.wait_until(2.5, timeout=30)
    recorder.close()
    assert recorder.status().state is RecorderState.CLOSED
    with pytest.raises(RecorderStateError, match="the recorder is closed"):
        recorder.pause("too late")
    [in_flight] = room.store.inflight_dir(room.writer.prefix).glob("*.mp4")
    frames = decoded_frames(in_flight)
    assert 30 <= len(frames) < 90  # the fragments flushed before the close, not the tail
    manifest = room.writer.interrupt("recorder abandoned")
    assert manifest.interrupted and manifest.segments == []
