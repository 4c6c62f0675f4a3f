"""The burned-in caption (local date and time, room, case, elapsed time) and the NO SIGNAL card.

OpenCV's Hershey fonts have no Vietnamese diacritics, so text is drawn by Pillow with a real
TrueType font (DejaVu Sans, Debian ``fonts-dejavu-core``). Drawing text costs milliseconds,
far too much per frame, but the caption changes once a second: it is rendered to an RGBA
patch only when its text changes, and that patch is alpha-blended into every frame with two
OpenCV SIMD calls (about 0.04 ms at 720p).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

from hardware.sources import Image
from recorder.errors import RecorderError
from recorder.room import DEFAULT_TIMEZONE

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD_FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
BAND_OPACITY = 150  # of 255: the picture stays visible under the caption
CASE_LABEL = "Vụ án"
SEPARATOR = "  ·  "
MIN_FONT_PX = 9
CARD_GREY = 40


@dataclass(frozen=True, slots=True)
class Caption:
    """What the overlay says besides the time."""

    room: str
    case_number: str
    timezone: str = DEFAULT_TIMEZONE


def load_font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = BOLD_FONT_PATH if bold else FONT_PATH
    try:
        return _font(path, size)
    except OSError as exc:
        raise RecorderError(
            f"cannot load the caption font {path} (Debian package "
            "fonts-dejavu-core; scripts/setup installs it)"
        ) from exc


@lru_cache(maxsize=32)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


class TextPatch:
    """An RGBA picture ready to blend: premultiplied BGR plus the inverse of its alpha."""

    def __init__(self, rgba: np.ndarray) -> None:
        alpha = rgba[:, :, 3:4].astype(np.uint16)
        bgr = rgba[:, :, 2::-1].astype(np.uint16)
        self.height, self.width = rgba.shape[:2]
        self._premultiplied = ((bgr * alpha + 127) // 255).astype(np.uint8)
        self._inverse = np.repeat(255 - rgba[:, :, 3:4], 3, axis=2)

    def blend_into(self, image: Image, *, x: int, y: int) -> None:
        """``image[y:, x:] = patch over image``, in place: dst * (1 - a) + premultiplied."""
        roi = image[y : y + self.height, x : x + self.width]
        cv2.multiply(roi, self._inverse, dst=roi, scale=1 / 255)
        cv2.add(roi, self._premultiplied, dst=roi)


class Overlay:
    """The caption band along the bottom of a ``width`` x ``height`` picture."""

    def __init__(self, width: int, height: int, caption: Caption) -> None:
        self.width, self.height = width, height
        self.caption = caption
        self._zone = ZoneInfo(caption.timezone)
        self._pad = max(2, height // 120)
        self._font, self._lines = self._fit()
        ascent, descent = self._font.getmetrics()
        self._line_height = ascent + descent
        self.band_height = min(height, self._lines * self._line_height + 2 * self._pad)
        self._key: tuple[int, int] | None = None
        self._patch: TextPatch | None = None

    def text(self, wall: datetime, elapsed_seconds: int) -> list[str]:
        """The caption's lines for a frame captured at ``wall`` (aware), ``elapsed_seconds``
        into the recording."""
        return self._compose(wall, elapsed_seconds, self._lines)

    def _compose(self, wall: datetime, elapsed_seconds: int, lines: int) -> list[str]:
        local = wall.astimezone(self._zone)
        stamp = f"{local:%d/%m/%Y %H:%M:%S} ({_gmt(local.utcoffset())})"
        hours, rest = divmod(max(0, elapsed_seconds), 3600)
        elapsed = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        where = f"{self.caption.room}{SEPARATOR}{CASE_LABEL} {self.caption.case_number}"
        if lines == 1:
            return [f"{stamp}{SEPARATOR}{where}{SEPARATOR}{elapsed}"]
        return [f"{stamp}{SEPARATOR}{elapsed}", where]

    def apply(self, image: Image, *, wall: datetime, elapsed_seconds: int) -> None:
        """Blend the caption into ``image`` (in place)."""
        key = (int(wall.timestamp()), elapsed_seconds)
        if key != self._key or self._patch is None:
            self._patch = self._render(self.text(wall, elapsed_seconds))
            self._key = key
        self._patch.blend_into(image, x=0, y=self.height - self.band_height)

    def _render(self, lines: list[str]) -> TextPatch:
        band = PilImage.new("RGBA", (self.width, self.band_height), (0, 0, 0, BAND_OPACITY))
        draw = ImageDraw.Draw(band)
        for number, line in enumerate(lines):
            draw.text(
                (self._pad * 2, self._pad + number * self._line_height),
                line,
                font=self._font,
                fill=(255, 255, 255, 255),
            )
        return TextPatch(np.asarray(band))

    def _fit(self) -> tuple[ImageFont.FreeTypeFont, int]:
        """The largest font (up to 1/28 of the height) and fewest lines (one or two) in which
        the widest caption fits. Digits are all one width in DejaVu Sans, so a sample time
        stands for every time."""
        usable = self.width - 4 * self._pad
        size = max(MIN_FONT_PX, round(self.height / 28))
        sample = datetime(2026, 12, 28, 20, 58, 58, tzinfo=self._zone)

        def widest(size: int, texts: list[str]) -> float:
            return max(load_font(size).getlength(text) for text in texts)

        texts = self._compose(sample, 88 * 3600, 1)
        if widest(size, texts) <= usable:
            return load_font(size), 1
        texts = self._compose(sample, 88 * 3600, 2)
        while size > MIN_FONT_PX and widest(size, texts) > usable:
            size -= 1
        return load_font(size), 2


def no_signal_card(width: int, height: int, device: str) -> Image:
    """A dark grey picture saying NO SIGNAL (in English and Vietnamese) and which camera."""
    card = PilImage.new("RGB", (width, height), (CARD_GREY, CARD_GREY, CARD_GREY))
    draw = ImageDraw.Draw(card)
    big = load_font(max(MIN_FONT_PX, height // 9), bold=True)
    small = load_font(max(MIN_FONT_PX, height // 20))
    lines = [
        ("NO SIGNAL", big, (255, 255, 255)),
        ("MẤT TÍN HIỆU", small, (230, 230, 230)),
        (device, small, (170, 170, 170)),
    ]
    heights = [sum(font.getmetrics()) for _, font, _ in lines]
    y = (height - sum(heights)) // 2
    for (text, font, colour), line_height in zip(lines, heights, strict=True):
        x = (width - font.getlength(text)) / 2
        draw.text((max(0.0, x), y), text, font=font, fill=colour)
        y += line_height
    # Pillow's RGB is reversed to OpenCV's BGR; the card is grey, but the text need not be.
    return np.ascontiguousarray(np.asarray(card)[:, :, ::-1])


def _gmt(offset: timedelta | None) -> str:
    minutes = round((offset or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
