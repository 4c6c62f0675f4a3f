"""What a V4L2 node is and which modes it offers, asked of the driver with ioctls.

Asking the driver is exact and opens no stream (OpenCV would have to try modes one by one,
starting the camera each time). The structures follow ``linux/videodev2.h``.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

_IOC_WRITE, _IOC_READ = 1, 2


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


class _Capability(ctypes.Structure):
    _fields_ = [
        ("driver", ctypes.c_char * 16),
        ("card", ctypes.c_char * 32),
        ("bus_info", ctypes.c_char * 32),
        ("version", ctypes.c_uint32),
        ("capabilities", ctypes.c_uint32),
        ("device_caps", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32 * 3),
    ]


class _FormatDescription(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_uint32),
        ("type", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("description", ctypes.c_char * 32),
        ("pixelformat", ctypes.c_uint32),
        ("mbus_code", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32 * 3),
    ]


class _Discrete(ctypes.Structure):
    _fields_ = [("width", ctypes.c_uint32), ("height", ctypes.c_uint32)]


class _Stepwise(ctypes.Structure):
    _fields_ = [
        ("min_width", ctypes.c_uint32),
        ("max_width", ctypes.c_uint32),
        ("step_width", ctypes.c_uint32),
        ("min_height", ctypes.c_uint32),
        ("max_height", ctypes.c_uint32),
        ("step_height", ctypes.c_uint32),
    ]


class _SizeUnion(ctypes.Union):
    _fields_ = [("discrete", _Discrete), ("stepwise", _Stepwise)]


class _FrameSize(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_uint32),
        ("pixel_format", ctypes.c_uint32),
        ("type", ctypes.c_uint32),
        ("size", _SizeUnion),
        ("reserved", ctypes.c_uint32 * 2),
    ]


class _Fraction(ctypes.Structure):
    _fields_ = [("numerator", ctypes.c_uint32), ("denominator", ctypes.c_uint32)]


class _IntervalStepwise(ctypes.Structure):
    _fields_ = [("min", _Fraction), ("max", _Fraction), ("step", _Fraction)]


class _IntervalUnion(ctypes.Union):
    _fields_ = [("discrete", _Fraction), ("stepwise", _IntervalStepwise)]


class _FrameInterval(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_uint32),
        ("pixel_format", ctypes.c_uint32),
        ("width", ctypes.c_uint32),
        ("height", ctypes.c_uint32),
        ("type", ctypes.c_uint32),
        ("interval", _IntervalUnion),
        ("reserved", ctypes.c_uint32 * 2),
    ]


VIDIOC_QUERYCAP = _ioc(_IOC_READ, 0, ctypes.sizeof(_Capability))
VIDIOC_ENUM_FMT = _ioc(_IOC_READ | _IOC_WRITE, 2, ctypes.sizeof(_FormatDescription))
VIDIOC_ENUM_FRAMESIZES = _ioc(_IOC_READ | _IOC_WRITE, 74, ctypes.sizeof(_FrameSize))
VIDIOC_ENUM_FRAMEINTERVALS = _ioc(_IOC_READ | _IOC_WRITE, 75, ctypes.sizeof(_FrameInterval))

V4L2_CAP_VIDEO_CAPTURE = 0x00000001
V4L2_CAP_DEVICE_CAPS = 0x80000000
V4L2_BUF_TYPE_VIDEO_CAPTURE = 1
V4L2_FRMSIZE_TYPE_DISCRETE = 1
V4L2_FRMIVAL_TYPE_DISCRETE = 1
MAX_ENTRIES = 64  # a driver that never says "no more" must not loop forever


@dataclass(frozen=True, slots=True)
class VideoMode:
    """One way the camera can deliver: pixel format, size, frame rates (largest first)."""

    pixel_format: str
    width: int
    height: int
    fps: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class VideoNode:
    path: str
    card: str
    driver: str
    bus: str
    modes: tuple[VideoMode, ...]


class NotACamera(Exception):
    """The node exists but does not capture video (e.g. a UVC metadata node)."""


def fourcc_text(code: int) -> str:
    return "".join(chr((code >> shift) & 0xFF) for shift in (0, 8, 16, 24)).strip()


def query_node(path: Path) -> VideoNode:
    """Ask the driver behind ``path``; ``NotACamera`` or ``OSError`` when it cannot say."""
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        capability = _Capability()
        try:
            fcntl.ioctl(fd, VIDIOC_QUERYCAP, capability)
        except OSError as exc:
            if exc.errno in (errno.ENOTTY, errno.EINVAL):
                raise NotACamera(f"{path} is not a V4L2 device") from exc
            raise
        caps = (
            capability.device_caps
            if capability.capabilities & V4L2_CAP_DEVICE_CAPS
            else capability.capabilities
        )
        if not caps & V4L2_CAP_VIDEO_CAPTURE:
            raise NotACamera(f"{path} does not capture video")
        return VideoNode(
            path=str(path),
            card=capability.card.decode(errors="replace"),
            driver=capability.driver.decode(errors="replace"),
            bus=capability.bus_info.decode(errors="replace"),
            modes=tuple(_modes(fd)),
        )
    finally:
        os.close(fd)


def _enumerate(fd: int, request: int, record: ctypes.Structure) -> list[ctypes.Structure]:
    """Call an ENUM ioctl with index 0, 1, ... until the driver answers EINVAL."""
    found: list[ctypes.Structure] = []
    for index in range(MAX_ENTRIES):
        entry = type(record).from_buffer_copy(record)
        entry.index = index
        try:
            fcntl.ioctl(fd, request, entry)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                break
            raise
        found.append(entry)
    return found


def _modes(fd: int) -> list[VideoMode]:
    modes = []
    for fmt in _enumerate(
        fd, VIDIOC_ENUM_FMT, _FormatDescription(type=V4L2_BUF_TYPE_VIDEO_CAPTURE)
    ):
        assert isinstance(fmt, _FormatDescription)
        for size in _enumerate(
            fd, VIDIOC_ENUM_FRAMESIZES, _FrameSize(pixel_format=fmt.pixelformat)
        ):
            assert isinstance(size, _FrameSize)
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE:
                width, height = size.size.discrete.width, size.size.discrete.height
            else:  # stepwise or continuous: report the largest
                width, height = size.size.stepwise.max_width, size.size.stepwise.max_height
            rates = []
            for interval in _enumerate(
                fd,
                VIDIOC_ENUM_FRAMEINTERVALS,
                _FrameInterval(pixel_format=fmt.pixelformat, width=width, height=height),
            ):
                assert isinstance(interval, _FrameInterval)
                fraction = (
                    interval.interval.discrete
                    if interval.type == V4L2_FRMIVAL_TYPE_DISCRETE
                    else interval.interval.stepwise.min
                )
                if fraction.numerator:
                    rates.append(round(fraction.denominator / fraction.numerator, 2))
            modes.append(
                VideoMode(
                    pixel_format=fourcc_text(fmt.pixelformat),
                    width=width,
                    height=height,
                    fps=tuple(sorted(set(rates), reverse=True)),
                )
            )
            if size.type != V4L2_FRMSIZE_TYPE_DISCRETE:
                break
    return modes
