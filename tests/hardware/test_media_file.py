"""Video and sound files replayed as a camera and a microphone, in real time (or on a faster
clock), and recorded like any room."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from hardware.clock import ScaledClock
from hardware.errors import HardwareError
from hardware.media_file import FileCamera, FileMicrophone
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info

FPS = 25
SECONDS = 2


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of 320x240 at 25 fps whose frame i is grey level 40 + 4i, with a 440 Hz tone in
    44.1 kHz stereo: a format the room does not record, so the microphone must convert."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        audio.layout = "stereo"
        for i in range(FPS * SECONDS):
            image = np.full((240, 320, 3), 40 + 4 * i, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        t = np.arange(44100 * SECONDS) / 44100
        tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            part = tone[start : start + 1024]
            frame = av.AudioFrame.from_ndarray(
                np.stack([part, part]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = 44100, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


def grey(image: np.ndarray) -> int:
    return round(float(image.mean()))


def test_a_video_file_is_a_camera_at_its_own_size_and_rate(clip: Path) -> None:
    camera = FileCamera(clip)
    camera.open()
    try:
        assert (camera.name, camera.width, camera.height, camera.fps) == (
            "file:clip.mp4",
            320,
            240,
            25,
        )
        began = time.monotonic()
        frames = [camera.read(timeout=2) for _ in range(10)]
        elapsed = time.monotonic() - began
    finally:
        camera.close()
    assert all(f is not None for f in frames)
    stamps = [f.captured_ns for f in frames if f is not None]
    assert np.diff(stamps).tolist() == [40_000_000] * 9  # exactly 1/25 s apart
    assert elapsed > 0.3  # paced in real time: frame 9 is due 0.36 s after frame 0
    levels = [grey(f.image) for f in frames if f is not None]
    assert all(abs(level - (40 + 4 * i)) <= 3 for i, level in enumerate(levels)), levels


def test_the_file_loops_or_ends(clip: Path) -> None:
    clock = ScaledClock(20)  # 2 s of file in a tenth of a second
    looping = FileCamera(clip, clock=clock)
    looping.open()
    try:
        levels = [grey(f.image) for f in (looping.read(timeout=2) for _ in range(55)) if f]
    finally:
        looping.close()
    assert len(levels) == 55 and abs(levels[50] - levels[0]) <= 3  # frame 50 is frame 0 again

    once = FileCamera(clip, loop=False, clock=clock)
    once.open()
    try:
        read = 0
        with pytest.raises(HardwareError, match=r"end of clip\.mp4"):
            while read < 100:
                if once.read(timeout=2) is not None:
                    read += 1
        assert read == FPS * SECONDS
    finally:
        once.close()


def test_a_sound_file_is_a_microphone_in_the_rooms_format(clip: Path) -> None:
    microphone = FileMicrophone(clip, 48000, 1, clock=ScaledClock(10))
    microphone.open()
    try:
        chunks = [microphone.read(timeout=2) for _ in range(50)]
    finally:
        microphone.close()
    assert all(c is not None and c.samples.shape == (960, 1) for c in chunks)
    stamps = [c.captured_ns for c in chunks if c is not None]
    assert set(np.diff(stamps).tolist()) == {20_000_000}
    sound = np.concatenate([c.samples for c in chunks if c is not None]).ravel() / 32768
    steady = sound[4800:]
    assert abs(np.sqrt(np.mean(steady**2)) - 0.5 / np.sqrt(2)) < 0.03  # the tone, resampled
    spectrum = np.abs(np.fft.rfft(steady))
    assert abs(np.argmax(spectrum) * 48000 / len(steady) - 440) < 5


def test_a_missing_file_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(HardwareError, match="cannot open"):
        FileCamera(tmp_path / "nothing.mp4").open()
    with pytest.raises(HardwareError, match="cannot open"):
        FileMicrophone(tmp_path / "nothing.wav").open()


def test_a_file_room_is_recorded_at_the_rooms_rate(clip: Path, tmp_path: Path) -> None:
    settings = RecorderSettings(width=320, height=240, fps=30, segment_seconds=1)
    store = FilesystemStore.open(tmp_path / "store", create=True)
    signer = ensure_device_identity(tmp_path / "keys", tmp_path / "trust", device_name="r")
    writer = SessionWriter.start(
        store, signer, SessionMetadata(case_number="F", room="F"), media_info(settings)
    )
    recorder = SessionRecorder([FileCamera(clip)], FileMicrophone(clip, 48000, 1), settings, writer)
    recorder.start()
    status = recorder.wait_until(1.5, timeout=30)
    manifest = recorder.stop("done")
    verify_session(store, writer.session_id, TrustStore.from_paths([tmp_path / "trust"]))
    assert manifest.device_outages == []
    # 25 pictures a second into 30 frames a second: one in six frames repeats a picture.
    assert 5 <= status.frames_filled <= 10
    with av.open(str(writer.path / "segments" / manifest.segments[0].name)) as container:
        levels = [grey(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]
    assert len(levels) == 30
    assert levels == sorted(levels) and levels[-1] - levels[0] > 80  # in order, one second
