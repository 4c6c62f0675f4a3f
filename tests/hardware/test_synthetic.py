"""The synthetic camera and microphone: deterministic content, real-time pacing, no drift.

Timing assertions are deliberately loose (the machine is shared and noisy); the exact
properties are checked on the capture timestamps, which do not depend on scheduling.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hardware.errors import HardwareError
from hardware.sources import Camera, Microphone
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone

NS = 1_000_000_000


def test_camera_frames_are_bgr_images_of_the_configured_size() -> None:
    camera = SyntheticCamera(320, 240)
    image = camera.render(0)
    assert image.shape == (240, 320, 3)
    assert image.dtype == np.uint8
    assert image.flags.c_contiguous


def test_camera_is_deterministic_given_its_seed() -> None:
    a, b = SyntheticCamera(320, 240, seed=7), SyntheticCamera(320, 240, seed=7)
    assert np.array_equal(a.render(41), b.render(41))
    assert not np.array_equal(a.render(41), SyntheticCamera(320, 240, seed=8).render(41))


def test_camera_pattern_moves_from_frame_to_frame() -> None:
    camera = SyntheticCamera(320, 240)
    first, second = camera.render(10), camera.render(11)
    assert not np.array_equal(first, second)
    # Every frame is a fresh array: a queued frame is never changed by a later one.
    assert not np.shares_memory(first, second)


def test_microphone_is_deterministic_and_continuous_across_chunks() -> None:
    mic = SyntheticMicrophone(48000, 2, chunk_ms=10, seed=3)
    chunks = [mic.samples(i) for i in range(100)]
    assert all(c.shape == (480, 2) and c.dtype == np.int16 for c in chunks)
    joined = np.concatenate(chunks)
    assert np.array_equal(joined[:, 0], joined[:, 1])
    # Chunking does not change the signal: 20 ms chunks give the same samples.
    coarser = SyntheticMicrophone(48000, 2, chunk_ms=20, seed=3)
    assert np.array_equal(joined, np.concatenate([coarser.samples(i) for i in range(50)]))
    reseeded = SyntheticMicrophone(48000, 2, chunk_ms=10, seed=4)
    assert not np.array_equal(joined, np.concatenate([reseeded.samples(i) for i in range(100)]))


def test_microphone_sounds_like_something() -> None:
    mic = SyntheticMicrophone()
    one_second = np.concatenate([mic.samples(i) for i in range(50)]).astype(np.float64)
    rms = np.sqrt(np.mean(one_second**2))
    assert 500 < rms < 16000  # clearly audible, not clipping
    # Syllables: the loudness of 50 ms windows varies a lot within a second.
    windows = np.sqrt(np.mean(one_second.reshape(20, -1) ** 2, axis=1))
    assert windows.max() > 3 * windows.min()


def test_synthetic_sources_satisfy_the_protocols() -> None:
    camera: Camera = SyntheticCamera(320, 240, fps=15)
    microphone: Microphone = SyntheticMicrophone(16000, 1)
    assert (camera.width, camera.height, camera.fps) == (320, 240, 15)
    assert (microphone.sample_rate, microphone.channels) == (16000, 1)
    assert camera.name and microphone.name


@pytest.mark.parametrize(
    ("sample_rate", "channels", "chunk_ms"), [(44100, 1, 15), (48000, 0, 20), (4000, 1, 20)]
)
def test_microphone_rejects_formats_it_cannot_deliver_exactly(
    sample_rate: int, channels: int, chunk_ms: int
) -> None:
    # 44100 Hz * 15 ms is not a whole number of samples: the pacing could not be exact.
    with pytest.raises(HardwareError, match="unsupported format"):
        SyntheticMicrophone(sample_rate, channels, chunk_ms=chunk_ms)


def test_reading_a_closed_device_is_an_error() -> None:
    with pytest.raises(HardwareError, match="not open"):
        SyntheticCamera(320, 240).read(timeout=0)
    mic = SyntheticMicrophone()
    mic.open()
    mic.close()
    with pytest.raises(HardwareError, match="not open"):
        mic.read(timeout=0)


def test_camera_is_paced_in_real_time() -> None:
    camera = SyntheticCamera(320, 240, fps=30)
    camera.open()
    try:
        began = time.monotonic()
        frames = []
        while time.monotonic() - began < 1.0:
            frame = camera.read(timeout=1)
            assert frame is not None
            # Never delivered before it is due.
            assert time.monotonic_ns() >= frame.captured_ns
            frames.append(frame)
    finally:
        camera.close()
    assert 27 <= len(frames) <= 33
    # Timestamps are the schedule itself: exactly 1/fps apart, no drift.
    start = frames[0].captured_ns
    assert [f.captured_ns - start for f in frames] == [i * NS // 30 for i in range(len(frames))]


def test_microphone_is_paced_in_real_time() -> None:
    mic = SyntheticMicrophone(48000, 1, chunk_ms=20)
    mic.open()
    try:
        began = time.monotonic()
        chunks = []
        while time.monotonic() - began < 1.0:
            chunk = mic.read(timeout=1)
            assert chunk is not None
            # A chunk is delivered only once its last sample has been "recorded".
            assert time.monotonic_ns() >= chunk.captured_ns + 20_000_000
            chunks.append(chunk)
    finally:
        mic.close()
    samples = sum(c.frames for c in chunks)
    assert 48000 - 4800 <= samples <= 48000 + 4800
    start = chunks[0].captured_ns
    assert [c.captured_ns - start for c in chunks] == [i * 20_000_000 for i in range(len(chunks))]


def test_a_late_reader_gets_the_overdue_frames_at_once() -> None:
    """Scheduling is against the open time: a slow reader loses no frames and gains none."""
    camera = SyntheticCamera(320, 240, fps=30)
    camera.open()
    try:
        time.sleep(0.5)
        overdue = 0
        while camera.read(timeout=0) is not None:
            overdue += 1
        assert 13 <= overdue <= 20  # 0.5 s at 30 fps, plus slack for a slow machine
        assert camera.read(timeout=0) is None  # and no more than that
    finally:
        camera.close()


def test_close_wakes_a_blocked_read() -> None:
    camera = SyntheticCamera(320, 240, fps=1)
    camera.open()
    assert camera.read(timeout=0) is not None  # frame 0 is due at once; frame 1 in 1 s
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(camera.read(timeout=30)))
    reader.start()
    time.sleep(0.1)
    camera.close()
    reader.join(timeout=5)
    assert not reader.is_alive()  # woken by close, long before its 30 s timeout
    assert result == [None]
