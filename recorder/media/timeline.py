"""Which frame and which sample goes where: the pure arithmetic of the recording timeline.

Video is the timeline master. A *run* is a stretch of recording between a start/resume and a
pause/stop; its clock starts at the capture time of its first frame (``origin_ns``). Frame
slot ``k`` of a run is due at ``origin + k / fps``; audio sample ``s`` at
``origin + s / sample_rate``. The samples that belong with frames ``[a, b)`` are
``[samples_before(a), samples_before(b))``, so without pauses segment ``k`` holds frames
``[k*F, (k+1)*F)`` and samples ``[k*S, (k+1)*S)`` exactly.

Everything here is integer arithmetic: no rounding error is ever carried forward.
"""

from __future__ import annotations

from dataclasses import dataclass

NS_PER_SECOND = 1_000_000_000
US_PER_SECOND = 1_000_000


def media_us(frames: int, *, fps: int) -> int:
    """Media time (microseconds, rounded down) at which frame ``frames`` starts."""
    return frames * US_PER_SECOND // fps


def samples_before(frames: int, *, fps: int, sample_rate: int) -> int:
    """How many audio samples lie before frame ``frames`` of a run."""
    return frames * sample_rate // fps


def slot_at(captured_ns: int, *, origin_ns: int, rate: int) -> int:
    """The slot (frame or sample index of the run) nearest to ``captured_ns``."""
    return ((captured_ns - origin_ns) * rate * 2 + NS_PER_SECOND) // (2 * NS_PER_SECOND)


def slots_before(moment_ns: int, *, origin_ns: int, rate: int) -> int:
    """How many slots of the run are due strictly before ``moment_ns``."""
    if moment_ns <= origin_ns:
        return 0
    return -(-(moment_ns - origin_ns) * rate // NS_PER_SECOND)


@dataclass(frozen=True, slots=True)
class Placement:
    """How an arriving item fits the timeline: ``fill`` slots are missing before it (the device
    skipped some, or stalled), or its first ``skip`` units are already covered (it is late, or
    early, or overlaps a filled gap)."""

    fill: int = 0
    skip: int = 0


def place(*, expected: int, slot: int, tolerance: int) -> Placement:
    """Place an item whose timestamp says ``slot`` where the timeline expects ``expected``.

    Within ``tolerance`` slots the timestamp is taken as jitter and the item goes where it is
    expected: counting, not timestamps, keeps the timeline, and timestamps only correct it.
    """
    if slot > expected + tolerance:
        return Placement(fill=slot - expected)
    if slot < expected - tolerance:
        return Placement(skip=expected - slot)
    return Placement()


@dataclass(frozen=True, slots=True)
class SegmentTimes:
    """A segment's place on the session's media timeline, in microseconds."""

    start_us: int
    duration_us: int


def segment_times(first_frame: int, frame_count: int, *, fps: int) -> SegmentTimes:
    """Times of the segment holding session frames ``[first_frame, first_frame + count)``.

    Both ends are rounded the same way, so consecutive segments tile the timeline exactly:
    each ``start_us`` is the previous ``start_us + duration_us``.
    """
    if frame_count <= 0:
        raise ValueError("a segment holds at least one frame")
    start = media_us(first_frame, fps=fps)
    return SegmentTimes(
        start_us=start, duration_us=media_us(first_frame + frame_count, fps=fps) - start
    )


def segment_is_full(frames_in_segment: int, *, frames_per_segment: int) -> bool:
    """Segments are cut by frame count: video is the timeline master."""
    return frames_in_segment >= frames_per_segment
