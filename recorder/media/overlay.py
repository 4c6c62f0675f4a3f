"""The burned-in caption (local date and time, room, case, elapsed time) and the NO SIGNAL card.

OpenCV's Hershey fonts have no Vietnamese diacritics, so text is drawn by Pillow with a real
TrueType font (DejaVu Sans, Debian ``fonts-dejavu-core``). Drawing text costs milliseconds,
far too much per frame, but the caption changes once a second: it is rendered to an RGBA
patch only when its text changes, and that patch is alpha-blended into every frame's planes
with OpenCV SIMD calls (about 0.03 ms at 720p).
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

from hardware import Image
from recorder.errors import RecorderError
from recorder.media.planar import Planar, planes, to_planar
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
    """An RGBA picture ready to blend into I420 frames: per plane, the premultiplied values
    and the inverse of the alpha (averaged over 2x2 pixels for the half-size U and V)."""

    def __init__(self, rgba: np.ndarray) -> None:
        self.height, self.width = rgba.shape[:2]
        alpha = np.ascontiguousarray(rgba[:, :, 3])
        half_alpha = np.asarray(
            cv2.resize(alpha, (self.width // 2, self.height // 2), interpolation=cv2.INTER_AREA),
            dtype=np.uint8,
        )
        colour = planes(to_planar(np.ascontiguousarray(rgba[:, :, 2::-1])))
        self._planes = []
        for values, weight in zip(colour, (alpha, half_alpha, half_alpha), strict=True):
            premultiplied = (values.astype(np.uint16) * weight + 127) // 255
            self._planes.append((premultiplied.astype(np.uint8), 255 - weight))

    def blend_into(self, frame: Planar, *, x: int, y: int) -> None:
        """``frame[y:, x:] = patch over frame`` in each plane, in place: dst * (1 - a) +
        premultiplied. ``x`` and ``y`` are even."""
        for plane, (premultiplied, inverse), scale in zip(
            planes(frame), self._planes, (1, 2, 2), strict=True
        ):
            h, w = inverse.shape
            roi = plane[y // scale : y // scale + h, x // scale : x // scale + w]
            cv2.multiply(roi, inverse, dst=roi, scale=1 / 255)
            cv2.add(roi, premultiplied, dst=roi)


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
        # Even: the band starts on a row that the half-height U and V planes share.
        band = self._lines * self._line_height + 2 * self._pad
        self.band_height = min(height, band + band % 2)
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

    def apply(self, frame: Planar, *, wall: datetime, elapsed_seconds: int) -> None:
        """Blend the caption into the I420 ``frame`` (in place)."""
        key = (int(wall.timestamp()), elapsed_seconds)
        if key != self._key or self._patch is None:
            self._patch = self._render(self.text(wall, elapsed_seconds))
            self._key = key
        self._patch.blend_into(frame, x=0, y=self.height - self.band_height)

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
