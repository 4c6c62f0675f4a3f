"""USB (UVC) and other V4L2 cameras, read through OpenCV's V4L2 back end.

MJPG or YUYV: USB 2 cannot carry 720p30 uncompressed (YUYV 1280x720 at 30 fps is 55 MB/s),
so MJPG is the default; YUYV suits low resolutions and cameras with poor JPEG encoders.
OpenCV decodes either to BGR. The driver may settle on another mode than the one asked for;
``width``, ``height`` and ``fps`` report what it settled on once the camera is open.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from hardware.errors import HardwareError
from hardware.sources import VideoFrame
from hardware.threaded import ThreadedDevice
from hardware.timestamps import ArrivalAnchor

PixelFormat = Literal["MJPG", "YUYV"]
FRAME_BUFFER = 4


class V4L2Camera(ThreadedDevice[VideoFrame]):
    """A V4L2 camera node, e.g. ``/dev/video0``."""

    def __init__(
        self,
        device: str = "/dev/video0",
        *,
        width: int = 1280,
        height: int = 720,
        fps: int = 30,
        pixel_format: PixelFormat = "MJPG",
        name: str | None = None,
    ) -> None:
        super().__init__(name or f"v4l2:{device}", buffer=FRAME_BUFFER, live=True)
        self._device = device
        self._want = (width, height, fps)
        self._width, self._height, self._fps = width, height, fps
        self._pixel_format = pixel_format
        self._capture: cv2.VideoCapture | None = None
        self._anchor = ArrivalAnchor()

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def fps(self) -> int:
        return self._fps

    def _connect(self) -> None:
        if not Path(self._device).exists():
            raise HardwareError(
                f"{self.name}: {self._device} does not exist (camera not connected?)"
            )
        # OpenCV logs its own warnings on stderr; ours say the same in the recorder's words.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        capture = cv2.VideoCapture(device_index(self._device), cv2.CAP_V4L2)
        if not capture.isOpened():
            capture.release()
            raise HardwareError(
                f"{self.name}: cannot open {self._device} (not connected, in use, or not a camera)"
            )
        width, height, fps = self._want
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self._pixel_format))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        capture.set(cv2.CAP_PROP_FPS, fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 2)  # the freshest frame, not a backlog
        self._width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) or width
        self._height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) or height
        self._fps = round(capture.get(cv2.CAP_PROP_FPS)) or fps
        if not capture.grab():
            capture.release()
            raise HardwareError(f"{self.name}: the camera opened but delivers no picture")
        self._anchor.reset()
        self._capture = capture

    def _items(self) -> Iterator[VideoFrame]:
        capture = self._capture
        assert capture is not None
        while not self._stopping.is_set():
            if not capture.grab():
                raise HardwareError(f"{self.name}: the camera stopped delivering (unplugged?)")
            arrival = time.monotonic_ns()
            # The driver's buffer timestamp: the spacing of the sensor's frames.
            stamp_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
            ok, image = capture.retrieve()
            if not ok or image is None:
                raise HardwareError(f"{self.name}: cannot decode the camera's picture")
            media = round(stamp_ms * 1_000_000) if stamp_ms > 0 else None
            yield VideoFrame(
                image=np.asarray(image, dtype=np.uint8),
                captured_ns=self._anchor.captured_ns(media_ns=media, arrival_ns=arrival),
            )

    def _disconnect(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


def device_index(device: str) -> int:
    """The N of ``/dev/videoN`` behind ``device`` (a udev ``/dev/v4l/by-id/...`` link too):
    OpenCV's V4L2 back end opens cameras by number, not by path."""
    match = re.fullmatch(r"/dev/video(\d+)", os.path.realpath(device))
    if match is None:
        raise HardwareError(f"v4l2:{device}: not a /dev/videoN device")
    return int(match.group(1))
