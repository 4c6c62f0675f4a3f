"""Which picture of a camera goes into which frame: the decisions of recorder.media.frame_sync."""

from __future__ import annotations

import numpy as np

from hardware.sources import VideoFrame
from recorder.media.frame_sync import CameraFeed, Choice, SlotTiming

MS = 1_000_000
FRAME = 1_000 * MS // 30  # a 30 fps recording
HALF = FRAME // 2
TIMEOUT = 500 * MS


def picture(ms: float, tag: int = 0) -> VideoFrame:
    image = np.full((2, 2, 3), tag, dtype=np.uint8)
    return VideoFrame(image=image, captured_ns=round(ms * MS))


def timing(
    slot: int, *, now_ms: float | None = None, until_ms: float | None = None, grace_ms: float = 0
) -> SlotTiming:
    slot_ns = slot * FRAME
    now = slot_ns if now_ms is None else round(now_ms * MS)
    return SlotTiming(
        slot_ns=slot_ns,
        half_frame_ns=HALF,
        timeout_ns=TIMEOUT,
        now_ns=now,
        until_ns=None if until_ms is None else round(until_ms * MS),
        start_grace_ns=round(grace_ms * MS),
    )


def feed_with(*ms: float) -> CameraFeed:
    feed = CameraFeed("cam", capacity=30)
    feed.begin_run(0)
    for i, t in enumerate(ms):
        feed.push(picture(t, tag=i + 1))
    return feed


def tag(pick_image: np.ndarray | None) -> int:
    assert pick_image is not None
    return int(pick_image[0, 0, 0])


def test_a_picture_within_half_a_frame_is_fresh_and_used_at_once() -> None:
    feed = feed_with(2.0)
    pick = feed.pick(timing(0), lost=False)
    assert pick.choice is Choice.FRESH and tag(pick.image) == 1


def test_a_slot_waits_for_a_picture_that_may_still_come() -> None:
    feed = feed_with(2.0)
    feed.pick(timing(0), lost=False)
    assert feed.pick(timing(1, now_ms=40), lost=False).choice is Choice.WAIT
    feed.push(picture(35.0, tag=9))
    pick = feed.pick(timing(1, now_ms=40), lost=False)
    assert pick.choice is Choice.FRESH and tag(pick.image) == 9


def test_a_skipped_frame_repeats_the_last_picture() -> None:
    feed = feed_with(0.0, 67.0)  # frame 1 (at 33 ms) never came; frame 2 did
    assert feed.pick(timing(0), lost=False).choice is Choice.FRESH
    pick = feed.pick(timing(1), lost=False)
    assert pick.choice is Choice.REPEAT and tag(pick.image) == 1
    assert tag(feed.pick(timing(2), lost=False).image) == 2


def test_a_camera_silent_past_its_timeout_is_lost_from_the_first_missing_frame() -> None:
    feed = feed_with(0.0)
    feed.pick(timing(0), lost=False)
    assert feed.pick(timing(1, now_ms=400), lost=False).choice is Choice.WAIT
    pick = feed.pick(timing(1, now_ms=540), lost=False)
    assert pick.choice is Choice.NO_SIGNAL and pick.lost_now
    # Once lost, it holds nothing up: later slots show NO SIGNAL at once.
    assert feed.pick(timing(2), lost=True).choice is Choice.NO_SIGNAL


def test_a_lost_camera_that_delivers_again_is_fresh() -> None:
    feed = feed_with(0.0)
    feed.pick(timing(0), lost=False)
    feed.push(picture(1000.0, tag=5))
    assert feed.pick(timing(29), lost=True).choice is Choice.NO_SIGNAL
    pick = feed.pick(timing(30), lost=True)
    assert pick.choice is Choice.FRESH and tag(pick.image) == 5


def test_a_gap_found_afterwards_is_no_signal_and_lost() -> None:
    """The encoder was behind: the camera's gap is only seen once later pictures are queued."""
    feed = feed_with(0.0, 1000.0)
    feed.pick(timing(0), lost=False)
    short = feed.pick(timing(5, now_ms=2000), lost=False)  # 167 ms after its last picture
    assert short.choice is Choice.REPEAT
    long = feed.pick(timing(20, now_ms=2000), lost=False)  # 667 ms: past the timeout
    assert long.choice is Choice.NO_SIGNAL and long.lost_now


def test_a_camera_still_starting_is_no_signal_but_not_lost_within_its_grace() -> None:
    feed = feed_with()
    pick = feed.pick(timing(0, now_ms=600, grace_ms=5000), lost=False)
    assert pick.choice is Choice.NO_SIGNAL and not pick.lost_now
    late = feed.pick(timing(180, now_ms=7000, grace_ms=5000), lost=False)
    assert late.choice is Choice.NO_SIGNAL and late.lost_now


def test_a_faster_camera_is_resampled_by_capture_time() -> None:
    feed = feed_with(*[i * 1000 / 60 for i in range(12)])  # 60 fps into 30 fps
    tags = []
    for slot in range(6):
        pick = feed.pick(timing(slot), lost=False)
        assert pick.choice is Choice.FRESH
        tags.append(tag(pick.image))
        feed.made(slot * FRAME, HALF)
    # Each slot gets the latest picture within its window: every other one.
    assert tags == [1, 3, 5, 7, 9, 11]


def test_pictures_after_the_end_of_a_run_are_not_used() -> None:
    feed = feed_with(0.0, 33.4, 66.7)
    feed.pick(timing(0), lost=False)
    pick = feed.pick(timing(2, until_ms=50), lost=False)
    assert pick.choice is Choice.REPEAT and tag(pick.image) == 2


def test_late_and_out_of_order_pictures_are_counted_and_dropped() -> None:
    feed = feed_with(0.0)
    feed.pick(timing(0), lost=False)
    feed.made(0, HALF)
    assert not feed.push(picture(-1.0))  # before the run
    assert feed.late == 0
    assert not feed.push(picture(10.0))  # its slot is made
    assert feed.push(picture(40.0)) and not feed.push(picture(39.0))
    assert feed.late == 2


def test_a_full_feed_drops_its_oldest_picture() -> None:
    feed = CameraFeed("cam", capacity=2)
    feed.begin_run(0)
    for t in (0.0, 33.3, 66.7):
        feed.push(picture(t))
    assert feed.late == 1 and feed.first_captured_ns == round(33.3 * MS)
