"""The burned-in caption and the NO SIGNAL card: Vietnamese text drawn with a real font, the
local time, rendered once per change and blended cheaply into every frame."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image as PilImage
from PIL import ImageDraw

from recorder.media.overlay import (
    BAND_OPACITY,
    Caption,
    Overlay,
    TextPatch,
    load_font,
    no_signal_card,
)
from recorder.media.planar import to_bgr, to_planar

WHEN = datetime(2026, 11, 22, 16, 59, 58, tzinfo=UTC)  # 23:59:58 in Ha Noi


def rendered(text: str, size: int = 40) -> np.ndarray:
    image = PilImage.new("L", (size * len(text), size * 2))
    ImageDraw.Draw(image).text((4, 4), text, font=load_font(size), fill=255)
    return np.asarray(image)


@pytest.mark.parametrize(
    ("accented", "plain"), [("ệ", "e"), ("ộ", "o"), ("ữ", "u"), ("ằ", "a"), ("Ấ", "A"), ("ỹ", "y")]
)
def test_vietnamese_letters_are_drawn_with_their_diacritics(accented: str, plain: str) -> None:
    """Each letter has its own glyph: not the bare letter, and not the font's missing-glyph
    box (what OpenCV's Hershey fonts or a font without Vietnamese would give)."""
    letter = rendered(accented)
    assert letter.sum() > rendered(plain).sum()  # the marks add ink
    assert not np.array_equal(letter, rendered("\ufffe"))  # not the .notdef box
    # Diacritics sit above (or below) the base letter: ink outside the plain letter's rows.
    base_rows = np.flatnonzero(rendered(plain).max(axis=1))
    rows = np.flatnonzero(letter.max(axis=1))
    assert rows.min() < base_rows.min() or rows.max() > base_rows.max()


def test_the_barred_d_is_drawn() -> None:
    assert rendered("Đ").sum() > rendered("D").sum()
    assert not np.array_equal(rendered("Đ"), rendered("\ufffe"))


def test_the_caption_says_local_time_room_case_and_elapsed_time() -> None:
    overlay = Overlay(1280, 720, Caption(room="Phòng hỏi cung số 1", case_number="VKS-12/2026"))
    [line] = overlay.text(WHEN, 3725)
    assert line.startswith("22/11/2026 23:59:58 (GMT+7)")
    assert "Phòng hỏi cung số 1" in line and "Vụ án VKS-12/2026" in line
    assert line.endswith("01:02:05")


def test_the_time_zone_is_configurable() -> None:
    overlay = Overlay(1280, 720, Caption("R", "C", timezone="Asia/Kolkata"))
    assert overlay.text(WHEN, 0)[0].startswith("22/11/2026 22:29:58 (GMT+5:30)")


def test_a_narrow_picture_gets_two_lines_and_a_smaller_font() -> None:
    wide = Overlay(1280, 720, Caption("Phòng hỏi cung số 1", "VKS-12/2026"))
    narrow = Overlay(320, 240, Caption("Phòng hỏi cung số 1", "VKS-12/2026"))
    assert len(wide.text(WHEN, 0)) == 1
    lines = narrow.text(WHEN, 0)
    assert len(lines) == 2 and "Phòng" in lines[1]
    assert narrow.band_height < 240 // 4


def test_the_caption_is_blended_into_the_bottom_band_only() -> None:
    overlay = Overlay(640, 360, Caption("Phòng 1", "VKS-1"))
    frame = to_planar(np.full((360, 640, 3), 200, dtype=np.uint8))
    before = to_bgr(frame)
    overlay.apply(frame, wall=WHEN, elapsed_seconds=5)
    after = to_bgr(frame)
    top = 360 - overlay.band_height
    assert np.array_equal(after[:top], before[:top])
    # The band darkens the picture to (1 - opacity), and the text is white on it.
    band = after[top:]
    darkened = round(200 * (255 - BAND_OPACITY) / 255)
    assert abs(int(np.median(band)) - darkened) <= 2
    assert band.max() >= 245


def test_the_caption_is_rendered_only_when_its_text_changes() -> None:
    overlay = Overlay(640, 360, Caption("Phòng 1", "VKS-1"))
    frame = to_planar(np.zeros((360, 640, 3), dtype=np.uint8))
    overlay.apply(frame, wall=WHEN, elapsed_seconds=5)
    first = overlay._patch
    overlay.apply(frame, wall=WHEN.replace(microsecond=900_000), elapsed_seconds=5)
    assert overlay._patch is first
    overlay.apply(frame, wall=WHEN.replace(second=59), elapsed_seconds=6)
    assert overlay._patch is not first


def test_a_text_patch_is_alpha_blended_in_every_plane() -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[:2, :2] = (255, 0, 0, 255)  # opaque red
    rgba[:2, 2:] = (0, 0, 255, 128)  # half blue
    frame = to_planar(np.full((8, 8, 3), 100, dtype=np.uint8))
    TextPatch(rgba).blend_into(frame, x=2, y=2)
    picture = to_bgr(frame).astype(int)
    assert np.abs(picture[2, 2] - (0, 0, 255)).max() <= 3  # BGR
    # Half blue over grey: 100 * 127/255 + 255 * 128/255 in blue, 100 * 127/255 elsewhere.
    assert np.abs(picture[2, 4] - (178, 50, 50)).max() <= 3
    assert np.abs(picture[4, 4] - (100, 100, 100)).max() <= 1  # transparent
    assert np.abs(picture[0, 0] - (100, 100, 100)).max() <= 1  # outside the patch


def test_the_no_signal_card_names_the_camera() -> None:
    card = no_signal_card(640, 360, "rtsp:10.0.0.5/stream1")
    other = no_signal_card(640, 360, "v4l2:/dev/video0")
    assert card.shape == (360, 640, 3) and card.dtype == np.uint8
    assert np.median(card) < 60 and card.max() > 200  # dark, with white writing
    assert not np.array_equal(card, other)
