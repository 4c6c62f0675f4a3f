"""The composited picture: main camera, inset second camera, NO SIGNAL cards, the caption."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from recorder.errors import RecorderError
from recorder.media.compositor import BORDER_PX, Compositor, Picture
from recorder.media.overlay import Caption, no_signal_card
from recorder.media.planar import to_bgr, to_planar
from recorder.room.profile import PictureLayout

WHEN = datetime(2026, 11, 22, 3, 0, 0, tzinfo=UTC)


def solid(width: int, height: int, bgr: tuple[int, int, int]) -> np.ndarray:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = bgr
    return image


def compose(compositor: Compositor, *pictures: np.ndarray | None) -> np.ndarray:
    """The composed frame (I420), back in BGR for the checks."""
    frame = compositor.compose(list(pictures), wall=WHEN, elapsed_seconds=0)
    assert frame.shape == (compositor.height * 3 // 2, compositor.width)
    return to_bgr(frame)


def near(pixels: np.ndarray, bgr: tuple[int, int, int], tolerance: int = 3) -> np.ndarray:
    """Which pixels are ``bgr``, give or take the colour conversion's rounding."""
    return np.asarray((np.abs(pixels.astype(int) - bgr) <= tolerance).all(axis=-1))


def test_one_camera_of_the_room_size_is_the_picture_itself() -> None:
    compositor = Compositor(320, 240, cameras=["cam"])
    main = solid(320, 240, (10, 20, 30))
    planar = compositor.compose([main], wall=WHEN, elapsed_seconds=0)
    assert np.array_equal(planar, to_planar(main))
    assert (main == (10, 20, 30)).all()  # untouched: the camera's picture may be shown again


@pytest.mark.parametrize("corner", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_the_second_camera_is_inset_in_its_corner(corner: str) -> None:
    layout = PictureLayout(pip_corner=corner, pip_width=0.25)  # type: ignore[arg-type]
    compositor = Compositor(640, 360, cameras=["main", "pip"], picture=Picture(layout=layout))
    frame = compose(compositor, solid(640, 360, (0, 0, 200)), solid(640, 360, (0, 200, 0)))
    inset = compositor.inset
    assert inset is not None and (inset.width, inset.height) == (160, 90)
    assert inset.x % 2 == inset.y % 2 == 0  # the half-size chroma planes line up
    region = frame[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width]
    assert near(region, (0, 200, 0)).all()
    assert near(frame[inset.y - 1, inset.x], (255, 255, 255))  # its white border
    middle_x = inset.x + inset.width // 2
    assert (inset.x < 320) == corner.endswith("left")
    assert (middle_x > 320) == corner.endswith("right")
    assert (inset.y < 180) == corner.startswith("top")
    assert near(frame, (0, 200, 0)).sum() == 160 * 90  # nothing else was touched
    framed = (160 + 2 * BORDER_PX) * (90 + 2 * BORDER_PX)
    assert near(frame, (0, 0, 200)).sum() == 640 * 360 - framed


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
    assert near(frame[180, :78], (0, 0, 0)).all() and near(frame[180, 562:], (0, 0, 0)).all()
    assert near(frame[180, 100], (0, 0, 200)) and near(frame[0, 320], (0, 0, 200))
    inset = compositor.inset
    assert inset is not None
    assert near(frame[inset.y + 5, inset.x + 5], (0, 200, 0))


def test_a_camera_without_signal_shows_the_no_signal_card_in_its_place() -> None:
    compositor = Compositor(640, 360, cameras=["main-cam", "pip-cam"])
    frame = compose(compositor, None, solid(640, 360, (0, 200, 0)))
    inset = compositor.inset
    assert inset is not None
    framed = (
        slice(inset.y - BORDER_PX, inset.y + inset.height + BORDER_PX),
        slice(inset.x - BORDER_PX, inset.x + inset.width + BORDER_PX),
    )
    outside = frame.copy()
    outside[framed] = 0
    card = to_bgr(to_planar(no_signal_card(640, 360, "main-cam")))
    card[framed] = 0
    assert np.array_equal(outside, card)

    frame = compose(compositor, solid(640, 360, (0, 0, 200)), None)
    small = to_bgr(to_planar(no_signal_card(inset.width, inset.height, "pip-cam")))
    region = frame[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width]
    assert np.array_equal(region, small)


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
