"""What the recorder needs from a capture device: the protocols and the data they deliver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One picture: ``image`` is H x W x 3, uint8, BGR (OpenCV's order).

    ``captured_ns`` is when the sensor took it, on the ``time.monotonic_ns`` clock.
    """

    image: Image
    captured_ns: int


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A run of samples: ``samples`` is (n, channels), int16, interleaved PCM.

    int16 because that is what capture hardware (ALSA, USB audio) delivers: no conversion on
    the capture path, and half the memory of float32. ``captured_ns`` is when the chunk's
    *first* sample was taken, on the ``time.monotonic_ns`` clock.
    """

    samples: Samples
    captured_ns: int

    @property
    def frames(self) -> int:
        """Number of samples per channel."""
        return int(self.samples.shape[0])


class Camera(Protocol):
    """A video source. ``read`` returns None when no frame arrived within ``timeout`` seconds
    (None: wait as long as it takes) and raises ``HardwareError`` when the device fails; a
    failed device may be closed and opened again."""

    @property
    def name(self) -> str: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def fps(self) -> int: ...

    def open(self) -> None: ...

    def read(self, timeout: float | None = None) -> VideoFrame | None: ...

    def close(self) -> None: ...


class Microphone(Protocol):
    """An audio source. ``read`` returns None when no chunk arrived within ``timeout`` seconds
    (None: wait as long as it takes) and raises ``HardwareError`` when the device fails; a
    failed device may be closed and opened again."""

    @property
    def name(self) -> str: ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    def open(self) -> None: ...

    def read(self, timeout: float | None = None) -> AudioChunk | None: ...

    def close(self) -> None: ...
