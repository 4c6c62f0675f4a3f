"""The pure decisions of the recorder: which frame and which sample goes in which segment."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from evidence_store.model import MediaInfo
from recorder.media.audio_buffer import AudioBuffer
from recorder.media.timeline import (
    Placement,
    media_us,
    place,
    samples_before,
    segment_is_full,
    segment_times,
    slot_at,
    slots_before,
)
from recorder.settings import RecorderSettings, media_info

NS = 1_000_000_000


@pytest.mark.parametrize(
    ("fps", "sample_rate", "seconds"),
    [(30, 48000, 2), (15, 48000, 1), (25, 44100, 4), (30, 44100, 3)],
)
def test_segment_k_holds_exactly_its_frames_and_samples(
    fps: int, sample_rate: int, seconds: int
) -> None:
    frames, samples = fps * seconds, sample_rate * seconds
    for k in range(50):
        first = samples_before(k * frames, fps=fps, sample_rate=sample_rate)
        end = samples_before((k + 1) * frames, fps=fps, sample_rate=sample_rate)
        assert (first, end) == (k * samples, (k + 1) * samples)


def test_audio_of_consecutive_frames_tiles_without_gaps_or_overlap() -> None:
    # 44.1 kHz at 30 fps is 1470 samples a frame; at 29 fps it is not whole, and still tiles.
    bounds = [samples_before(f, fps=29, sample_rate=44100) for f in range(1000)]
    steps = np.diff(bounds)
    assert set(steps) <= {1520, 1521}
    assert bounds[-1] == 999 * 44100 // 29


def test_segment_times_tile_the_session_timeline_exactly() -> None:
    # 1/30 s is not a whole number of microseconds; rounding must not accumulate.
    start, cuts = 0, [60, 60, 17, 60, 3, 60]  # short segments where pauses cut them
    for first, count in zip(np.cumsum([0, *cuts[:-1]]), cuts, strict=True):
        times = segment_times(int(first), count, fps=30)
        assert times.start_us == start
        start = times.start_us + times.duration_us
    assert start == media_us(sum(cuts), fps=30) == 8_666_666


def test_a_segment_holds_at_least_one_frame() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        segment_times(10, 0, fps=30)


def test_segments_are_cut_by_frame_count() -> None:
    assert not segment_is_full(59, frames_per_segment=60)
    assert segment_is_full(60, frames_per_segment=60)


def test_slot_at_rounds_to_the_nearest_slot() -> None:
    origin = 5 * NS
    assert slot_at(origin, origin_ns=origin, rate=30) == 0
    assert slot_at(origin + NS // 30 - 1_000_000, origin_ns=origin, rate=30) == 1
    assert slot_at(origin + 10 * NS // 30 + 10_000_000, origin_ns=origin, rate=30) == 10
    assert slot_at(origin - NS // 30, origin_ns=origin, rate=30) == -1
    assert slot_at(origin + NS, origin_ns=origin, rate=48000) == 48000


def test_slots_before_counts_slots_due_strictly_before_a_moment() -> None:
    origin = 7 * NS
    assert slots_before(origin - 1, origin_ns=origin, rate=30) == 0
    assert slots_before(origin, origin_ns=origin, rate=30) == 0
    assert slots_before(origin + 1, origin_ns=origin, rate=30) == 1
    assert slots_before(origin + NS, origin_ns=origin, rate=30) == 30
    assert slots_before(origin + NS + 1, origin_ns=origin, rate=30) == 31


@pytest.mark.parametrize(
    ("expected", "slot", "placement"),
    [
        (10, 10, Placement()),
        (10, 11, Placement()),  # jitter within tolerance: counted, not moved
        (10, 9, Placement()),
        (10, 12, Placement(fill=2)),  # the device skipped: fill the gap
        (10, 40, Placement(fill=30)),  # an outage
        (10, 8, Placement(skip=2)),  # late, or already filled: drop
    ],
)
def test_place_corrects_only_beyond_the_tolerance(
    expected: int, slot: int, placement: Placement
) -> None:
    assert place(expected=expected, slot=slot, tolerance=1) == placement


def _ramp(first: int, count: int) -> np.ndarray:
    """Samples whose value is their own run position: where they land is visible."""
    return np.arange(first, first + count, dtype=np.int16).reshape(-1, 1)


def test_audio_buffer_trims_the_first_chunk_to_the_run_start() -> None:
    buffer = AudioBuffer(1, tolerance=100)
    buffer.add(_ramp(-30, 50), slot=-30)  # began 30 samples before the first frame
    assert buffer.end == 20
    assert np.array_equal(buffer.take(20), _ramp(0, 20))


def test_a_microphone_starting_just_after_the_camera_is_aligned_not_counted_as_lost() -> None:
    # Devices open a moment apart: a first chunk within the jitter tolerance after the first
    # frame is padded to stay in sync, but the microphone was never missing.
    buffer = AudioBuffer(1, tolerance=100)
    assert buffer.add(_ramp(1, 10), slot=1) == Placement()
    assert buffer.add(_ramp(11, 10), slot=11) == Placement()
    assert np.array_equal(buffer.take(21)[:, 0], [0, *range(1, 21)])


def test_a_late_first_chunk_is_padded_and_its_wait_left_to_the_caller_to_count() -> None:
    # Past the tolerance too, the lead-in is the microphone joining, not a microphone lost:
    # padded to stay in step, not reported as filled silence (the session counts the wait).
    buffer = AudioBuffer(1, tolerance=100)
    assert buffer.add(_ramp(150, 10), slot=150) == Placement()
    assert np.array_equal(buffer.take(160)[:, 0], [0] * 150 + list(range(150, 160)))


def test_audio_buffer_counts_jitter_and_corrects_gaps_and_overlaps() -> None:
    buffer = AudioBuffer(1, tolerance=10)
    buffer.add(_ramp(0, 100), slot=0)
    assert buffer.add(_ramp(100, 100), slot=105) == Placement()  # jitter: appended as is
    assert buffer.end == 200
    assert buffer.add(_ramp(300, 50), slot=300) == Placement(fill=100)  # gap
    assert buffer.end == 350
    assert buffer.fill_silence(400) == 50  # microphone lost: silence up to the horizon
    assert buffer.add(_ramp(380, 40), slot=380) == Placement(skip=20)  # overlaps the filling
    assert buffer.end == 420
    taken = buffer.take(1000)[:, 0]
    assert len(taken) == 420 and buffer.taken == 420
    assert np.array_equal(taken[400:], np.arange(400, 420))
    assert not taken[200:300].any() and not taken[350:400].any()


def test_audio_buffer_takes_in_order_and_never_past_its_end() -> None:
    buffer = AudioBuffer(2, tolerance=0)
    buffer.add(np.ones((30, 2), dtype=np.int16), slot=0)
    assert buffer.take(10).shape == (10, 2)
    assert buffer.take(10).shape == (0, 2)  # already taken
    assert buffer.take(100).shape == (20, 2)
    assert buffer.take(200).shape == (0, 2)


def test_settings_are_validated_and_frozen() -> None:
    settings = RecorderSettings()
    assert (settings.frames_per_segment, settings.samples_per_segment) == (60, 96000)
    with pytest.raises(ValidationError):
        RecorderSettings(segment_seconds=5)
    with pytest.raises(ValidationError):
        RecorderSettings(width=321)  # 4:2:0 needs even sizes
    with pytest.raises(ValidationError):
        RecorderSettings.model_validate({"fps": 30, "bitrate": 1})  # unknown key: a typo
    with pytest.raises(ValidationError):
        settings.fps = 25


def test_media_info_describes_the_recording_format() -> None:
    settings = RecorderSettings(width=640, height=360, fps=25, segment_seconds=3, channels=2)
    assert media_info(settings) == MediaInfo(
        width=640, height=360, fps=25, sample_rate=48000, channels=2, segment_seconds=3
    )
