"""Decoded PyAV pictures as the BGR arrays every camera delivers."""

from __future__ import annotations

import av
import cv2
import numpy as np

from hardware.sources import Image


def to_bgr(frame: av.VideoFrame) -> Image:
    """BGR pixels of ``frame``. For the usual yuv420p, OpenCV's SIMD conversion is several
    times faster than swscale's (the same holds the other way, recorder/segment_encoder.py)."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        planar = frame.to_ndarray(format="yuv420p")
        return np.asarray(cv2.cvtColor(planar, cv2.COLOR_YUV2BGR_I420), dtype=np.uint8)
    return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
