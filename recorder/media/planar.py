"""Pictures in planar YUV 4:2:0 (I420), the encoder's own format, and a few operations on them.

The recorded frame is composed in I420: the main camera's picture is converted once (the
conversion the encoder needs anyway, and it doubles as the copy that leaves the camera's
picture untouched), and the inset and the caption are written into the planes. A frame is
one (H * 3 / 2, W) uint8 array: the Y plane (H x W), then U and V (H/2 x W/2 each), as
OpenCV's ``COLOR_BGR2YUV_I420`` makes it (BT.601, limited range) and ``av.VideoFrame.
from_ndarray(format="yuv420p")`` takes it.
"""

from __future__ import annotations

import cv2
import numpy as np

from hardware import Image

Planar = Image  # (H * 3 / 2, W) uint8, I420


def to_planar(bgr: Image) -> Planar:
    """BGR (even width and height) to a new I420 frame."""
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)


def to_bgr(planar: Planar) -> Image:
    return np.asarray(cv2.cvtColor(planar, cv2.COLOR_YUV2BGR_I420), dtype=np.uint8)


def planes(frame: Planar) -> tuple[Image, Image, Image]:
    """Views of the Y, U and V planes of ``frame`` (writing to them writes the frame)."""
    width = frame.shape[1]
    height = frame.shape[0] * 2 // 3
    flat = frame.reshape(-1)
    luma, chroma = height * width, (height // 2) * (width // 2)
    return (
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2),
    )


def paste(frame: Planar, part: Planar, *, x: int, y: int) -> None:
    """Copy the I420 picture ``part`` into ``frame`` at (x, y), both even."""
    for target, source, scale in zip(planes(frame), planes(part), (1, 2, 2), strict=True):
        h, w = source.shape
        target[y // scale : y // scale + h, x // scale : x // scale + w] = source


def fill(frame: Planar, *, x: int, y: int, width: int, height: int, bgr: tuple[int, ...]) -> None:
    """Paint a rectangle (even position and size) in one colour."""
    patch = np.empty((2, 2, 3), dtype=np.uint8)
    patch[:] = bgr
    y_value, u_value, v_value = (int(v) for v in to_planar(patch).reshape(-1)[[0, 4, 5]])
    for plane, value, scale in zip(
        planes(frame), (y_value, u_value, v_value), (1, 2, 2), strict=True
    ):
        plane[y // scale : (y + height) // scale, x // scale : (x + width) // scale] = value
