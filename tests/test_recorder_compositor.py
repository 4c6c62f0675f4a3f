"""The composited picture: main camera, inset second camera, NO SIGNAL cards, the caption."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from recorder.compositor import BORDER_PX, Compositor, Picture
from recorder.errors import RecorderError
from recorder.overlay import Caption, no_signal_card
from recorder.room import PictureLayout

WHEN = datetime(2026, 11, 22, 3, 0, 0, tzinfo=UTC)


def solid(width: int, height: int, bgr: tuple[int, int, int]) -> np.ndarray:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = bgr
    return image


def compose(compositor: Compositor, *pictures: np.ndarray | None) -> np.ndarray:
    return compositor.compose(list(pictures), wall=WHEN, elapsed_seconds=0)


def test_one_camera_of_the_room_size_is_the_picture_itself() -> None:
    compositor = Compositor(320, 240, cameras=["cam"])
    main = solid(320, 240, (10, 20, 30))
    frame = compose(compositor, main)
    assert np.array_equal(frame, main)
    assert not np.shares_memory(frame, main)  # the camera's picture may be shown again


@pytest.mark.parametrize("corner", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_the_second_camera_is_inset_in_its_corner(corner: str) -> None:
    layout = PictureLayout(pip_corner=corner, pip_width=0.25)  # type: ignore[arg-type]
    compositor = Compositor(640, 360, cameras=["main", "pip"], picture=Picture(layout=layout))
    frame = compose(compositor, solid(640, 360, (0, 0, 200)), solid(640, 360, (0, 200, 0)))
    inset = compositor.inset
    assert inset is not None and (inset.width, inset.height) == (160, 90)
    assert (
        frame[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width] == (0, 200, 0)
    ).all()
    assert (frame[inset.y - 1, inset.x] == 255).all()  # its white border
    middle_x = inset.x + inset.width // 2
    assert (inset.x < 320) == corner.endswith("left") and (middle_x > 320) == corner.endswith(
        "right"
    )
    assert (inset.y < 180) == corner.startswith("top")
    green = (frame == (0, 200, 0)).all(axis=2).sum()
    assert green == 160 * 90  # nothing else of the main picture was touched
    assert (frame == (0, 0, 200)).all(axis=2).sum() == 640 * 360 - (160 + 2 * BORDER_PX) * (
        90 + 2 * BORDER_PX
    )


def test_a_bottom_inset_stays_clear_of_the_caption() -> None:
    picture = Picture(
        layout=PictureLayout(pip_corner="bottom-right"), caption=Caption("Phòng 1", "VKS-1")
    )
    compositor = Compositor(1280, 720, cameras=["main", "pip"], picture=picture)
    assert compositor.overlay is not None and compositor.inset is not None
    bottom = compositor.inset.y + compositor.inset.height + BORDER_PX
    assert bottom <= 720 - compositor.overlay.band_height


def test_other_sizes_are_scaled_to_fit_keeping_their_shape() -> None:
    compositor = Compositor(640, 360, cameras=["main", "pip"])
    # A 4:3 main camera in a 16:9 picture: bars left and right. A 1080p inset: scaled down.
    frame = compose(compositor, solid(640, 480, (0, 0, 200)), solid(1920, 1080, (0, 200, 0)))
    assert (frame[180, :80] == 0).all() and (frame[180, 560:] == 0).all()
    assert (frame[180, 100] == (0, 0, 200)).all() and (frame[0, 320] == (0, 0, 200)).all()
    inset = compositor.inset
    assert inset is not None
    assert (frame[inset.y + 5, inset.x + 5] == (0, 200, 0)).all()


def test_a_camera_without_signal_shows_the_no_signal_card_in_its_place() -> None:
    compositor = Compositor(640, 360, cameras=["main-cam", "pip-cam"])
    frame = compose(compositor, None, solid(640, 360, (0, 200, 0)))
    inset = compositor.inset
    assert inset is not None
    outside = frame.copy()
    outside[
        inset.y - BORDER_PX : inset.y + inset.height + BORDER_PX,
        inset.x - BORDER_PX : inset.x + inset.width + BORDER_PX,
    ] = 0
    card = no_signal_card(640, 360, "main-cam")
    card[
        inset.y - BORDER_PX : inset.y + inset.height + BORDER_PX,
        inset.x - BORDER_PX : inset.x + inset.width + BORDER_PX,
    ] = 0
    assert np.array_equal(outside, card)

    frame = compose(compositor, solid(640, 360, (0, 0, 200)), None)
    small = no_signal_card(inset.width, inset.height, "pip-cam")
    assert np.array_equal(
        frame[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width], small
    )


def test_the_caption_is_burned_in() -> None:
    plain = Compositor(640, 360, cameras=["cam"])
    captioned = Compositor(
        640, 360, cameras=["cam"], picture=Picture(caption=Caption("Phòng 1", "VKS-1"))
    )
    main = solid(640, 360, (90, 90, 90))
    a, b = compose(plain, main), compose(captioned, main)
    assert captioned.overlay is not None
    band = 360 - captioned.overlay.band_height
    assert np.array_equal(a[:band], b[:band]) and not np.array_equal(a[band:], b[band:])
    no_caption = Compositor(
        640,
        360,
        cameras=["cam"],
        picture=Picture(layout=PictureLayout(overlay=False), caption=Caption("Phòng 1", "VKS-1")),
    )
    assert no_caption.overlay is None


def test_a_room_records_one_or_two_cameras() -> None:
    with pytest.raises(RecorderError, match="one or two cameras, not 3"):
        Compositor(640, 360, cameras=["a", "b", "c"])
