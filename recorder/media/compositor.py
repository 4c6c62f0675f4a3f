"""The recorded picture: the main camera, a second camera inset (picture-in-picture), and the
burned-in caption. A camera without a picture is shown as a NO SIGNAL card in its place.
The frame is made in I420, the encoder's format (``recorder.media.planar``).

Cameras may deliver any size: each picture is scaled to fit its place, keeping its shape
(black bars where the shapes differ). Large reductions halve with OpenCV's fast 2x2 area
average first, then finish with a bilinear step: nearly the quality of a full area resize at
a seventh of its cost (0.3 vs 2.2 ms for 720p to a 384-pixel inset here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np

from hardware import Image
from recorder.errors import RecorderError
from recorder.media.overlay import Caption, Overlay, no_signal_card
from recorder.media.planar import Planar, fill, paste, to_planar
from recorder.room import PictureLayout

BORDER_PX = 2  # a thin frame sets the inset apart from the main picture (even: see planar)


@dataclass(frozen=True)
class Picture:
    """How a session's picture is made: the layout and, if any, the caption to burn in."""

    layout: PictureLayout = field(default_factory=PictureLayout)
    caption: Caption | None = None


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


class Compositor:
    """Makes each recorded frame from the cameras' latest pictures. One thread only."""

    def __init__(
        self, width: int, height: int, *, cameras: Sequence[str], picture: Picture | None = None
    ) -> None:
        if not 1 <= len(cameras) <= 2:
            raise RecorderError(f"a room records one or two cameras, not {len(cameras)}")
        picture = picture or Picture()
        self.width, self.height = width, height
        self.cameras = tuple(cameras)
        layout = picture.layout
        self.overlay = (
            Overlay(width, height, picture.caption)
            if picture.caption is not None and layout.overlay
            else None
        )
        self.inset = self._inset_rect(layout) if len(cameras) == 2 else None
        self._cards: dict[int, Image] = {}

    def compose(
        self, pictures: Sequence[Image | None], *, wall: datetime, elapsed_seconds: int
    ) -> Planar:
        """A new I420 frame (``recorder.media.planar``) from one BGR picture per camera (None: that
        camera has no signal). The pictures are left untouched: they may be shown again."""
        main = pictures[0]
        if main is None:
            frame = self._card(0, self.width, self.height).copy()
        elif main.shape[:2] == (self.height, self.width):
            frame = to_planar(main)  # the conversion the encoder needs, and the copy
        else:
            canvas = np.zeros((self.height, self.width, 3), dtype=np.uint8)
            _fit_into(main, canvas)
            frame = to_planar(canvas)
        if self.inset is not None:
            r = self.inset
            fill(
                frame,
                x=r.x - BORDER_PX,
                y=r.y - BORDER_PX,
                width=r.width + 2 * BORDER_PX,
                height=r.height + 2 * BORDER_PX,
                bgr=(255, 255, 255),
            )
            inset = pictures[1]
            if inset is None:
                small = self._card(1, r.width, r.height)
            else:
                canvas = np.zeros((r.height, r.width, 3), dtype=np.uint8)
                _fit_into(inset, canvas)
                small = to_planar(canvas)
            paste(frame, small, x=r.x, y=r.y)
        if self.overlay is not None:
            self.overlay.apply(frame, wall=wall, elapsed_seconds=elapsed_seconds)
        return frame

    def _card(self, camera: int, width: int, height: int) -> Planar:
        card = self._cards.get(camera)
        if card is None:
            card = to_planar(no_signal_card(width, height, self.cameras[camera]))
            self._cards[camera] = card
        return card

    def _inset_rect(self, layout: PictureLayout) -> Rect:
        width = round(self.width * layout.pip_width / 2) * 2
        height = round(width * self.height / self.width / 2) * 2
        # Even positions and sizes: the half-size U and V planes must line up.
        margin = round(max(BORDER_PX, self.width * layout.margin) / 2) * 2 + BORDER_PX
        bottom_limit = self.height - (self.overlay.band_height if self.overlay else 0)
        x = margin if layout.pip_corner.endswith("left") else self.width - margin - width
        y = margin if layout.pip_corner.startswith("top") else bottom_limit - margin - height
        return Rect(x=x, y=max(BORDER_PX, y), width=width, height=height)


def _fit_into(source: Image, target: Image) -> None:
    """Scale ``source`` into ``target`` (in place), keeping its shape, centred."""
    th, tw = target.shape[:2]
    sh, sw = source.shape[:2]
    scale = min(tw / sw, th / sh)
    width, height = max(1, round(sw * scale)), max(1, round(sh * scale))
    while source.shape[1] >= 2 * width and source.shape[0] >= 2 * height:
        source = np.asarray(
            cv2.resize(
                source, (source.shape[1] // 2, source.shape[0] // 2), interpolation=cv2.INTER_AREA
            ),
            dtype=np.uint8,
        )
    x, y = (tw - width) // 2, (th - height) // 2
    region = target[y : y + height, x : x + width]
    if source.shape[:2] == (height, width):
        region[:] = source
    else:
        cv2.resize(source, (width, height), dst=region, interpolation=cv2.INTER_LINEAR)
