"""Video and sound files replayed as if they were a camera and a microphone, in real time.

For rehearsals, demonstrations and tests with real footage. A reader thread decodes a little
ahead; ``read`` hands out item ``i`` when it is due (``hardware.schedule``), stamped with its
due time, exactly like the synthetic sources. At the end of the file it starts again
(``loop``), or the device fails, which the recorder reports as a lost device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Generic, TypeVar

import av

from hardware.audio_convert import AudioConverter, Rechunker
from hardware.clock import MONOTONIC, Clock
from hardware.errors import HardwareError
from hardware.pixels import to_bgr
from hardware.schedule import RealTimeSchedule
from hardware.sources import AudioChunk, Image, Samples, VideoFrame
from hardware.threaded import ThreadedDevice

Decoded = TypeVar("Decoded")

DECODE_AHEAD = 4


class _Decoder(ThreadedDevice[Decoded]):
    """Decodes a file in its own thread, ``DECODE_AHEAD`` items ahead of the reader."""

    def __init__(
        self, name: str, *, probe: Callable[[], None], decode: Callable[[], Iterator[Decoded]]
    ) -> None:
        super().__init__(name, buffer=DECODE_AHEAD, live=False)
        self._probe = probe
        self._decode = decode

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _connect(self) -> None:
        self._probe()

    def _items(self) -> Iterator[Decoded]:
        return self._decode()

    def _disconnect(self) -> None:
        pass  # every container is closed where it is opened


class _PacedFile(Generic[Decoded]):
    """Open/close and pacing shared by both file devices: one item per schedule slot."""

    def __init__(self, path: Path, *, name: str, loop: bool, clock: Clock) -> None:
        self._path = path
        self._name = name
        self._loop = loop
        self._clock = clock
        self._schedule: RealTimeSchedule | None = None
        self._index = 0
        self._decoder: _Decoder[Decoded] = _Decoder(name, probe=self._probe, decode=self._decode)

    @property
    def name(self) -> str:
        return self._name

    def open(self) -> None:
        """Check the file and start decoding; item 0 is due now."""
        self._decoder.open()
        rate = self._rate()
        self._schedule = RealTimeSchedule(rate.numerator, rate.denominator, clock=self._clock)
        self._schedule.start()
        self._index = 0

    def close(self) -> None:
        if self._schedule is not None:
            self._schedule.stop()  # wakes a read waiting for its due time
        self._decoder.close()

    def _next(self, *, lead: int, timeout: float | None) -> tuple[Decoded, int] | None:
        """Item ``index`` once item ``index + lead`` is due, with the due time of ``index``."""
        schedule = self._schedule
        if schedule is None:
            raise HardwareError(f"{self._name} is not open")
        if not schedule.wait_for(self._index + lead, timeout):
            return None
        item = self._decoder.read(timeout)
        if item is None:
            return None
        due = schedule.due_ns(self._index)
        self._index += 1
        return item, due

    def _open_container(self) -> av.container.InputContainer:
        try:
            return av.open(str(self._path))
        except (av.FFmpegError, OSError) as exc:
            raise HardwareError(f"{self._name}: cannot open {self._path}: {exc}") from exc

    def _frames(self, kind: str) -> Iterator[av.VideoFrame | av.AudioFrame]:
        """Frames of the file's first ``kind`` stream, from the start again at its end while
        ``loop`` is set."""
        while True:
            produced = False
            with self._open_container() as container:
                streams = container.streams.video if kind == "video" else container.streams.audio
                if not streams:
                    raise HardwareError(f"{self._name}: {self._path} has no {kind}")
                try:
                    for frame in container.decode(streams[0]):
                        if isinstance(frame, av.VideoFrame | av.AudioFrame):
                            produced = True
                            yield frame
                except av.FFmpegError as exc:
                    raise HardwareError(f"{self._name}: cannot decode {self._path}: {exc}") from exc
            if not self._loop or not produced or self._decoder.stopping:
                raise HardwareError(f"{self._name}: end of {self._path.name}")

    # -- per kind ----------------------------------------------------------------------------

    def _probe(self) -> None:
        raise NotImplementedError

    def _decode(self) -> Iterator[Decoded]:
        raise NotImplementedError

    def _rate(self) -> Fraction:
        raise NotImplementedError


class FileCamera(_PacedFile[Image]):
    """A video file as a camera, at the file's own frame rate and size."""

    def __init__(
        self, path: Path, *, name: str | None = None, loop: bool = True, clock: Clock = MONOTONIC
    ) -> None:
        super().__init__(path, name=name or f"file:{path.name}", loop=loop, clock=clock)
        self._width = self._height = 0
        self._frame_rate = Fraction(30)

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def fps(self) -> int:
        return round(self._frame_rate)

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        taken = self._next(lead=0, timeout=timeout)
        return None if taken is None else VideoFrame(image=taken[0], captured_ns=taken[1])

    def _probe(self) -> None:
        with self._open_container() as container:
            if not container.streams.video:
                raise HardwareError(f"{self._name}: {self._path} has no video")
            stream = container.streams.video[0]
            self._width, self._height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate
            self._frame_rate = Fraction(rate) if rate else Fraction(30)

    def _decode(self) -> Iterator[Image]:
        for frame in self._frames("video"):
            assert isinstance(frame, av.VideoFrame)
            yield to_bgr(frame)

    def _rate(self) -> Fraction:
        return self._frame_rate


class FileMicrophone(_PacedFile[Samples]):
    """A sound file (or a video's sound) as a microphone, resampled to the room's format."""

    def __init__(
        self,
        path: Path,
        sample_rate: int = 48000,
        channels: int = 1,
        *,
        chunk_ms: int = 20,
        name: str | None = None,
        loop: bool = True,
        clock: Clock = MONOTONIC,
    ) -> None:
        chunk_frames, remainder = divmod(sample_rate * chunk_ms, 1000)
        if chunk_frames <= 0 or remainder:
            raise HardwareError(
                f"{path.name}: {chunk_ms} ms is not a whole number of samples at {sample_rate} Hz"
            )
        super().__init__(path, name=name or f"file:{path.name}", loop=loop, clock=clock)
        self._sample_rate, self._channels = sample_rate, channels
        self._chunk_frames = chunk_frames

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def channels(self) -> int:
        return self._channels

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        # A chunk is delivered once its last sample is due, as a sound card would.
        taken = self._next(lead=1, timeout=timeout)
        return None if taken is None else AudioChunk(samples=taken[0], captured_ns=taken[1])

    def _probe(self) -> None:
        with self._open_container() as container:
            if not container.streams.audio:
                raise HardwareError(f"{self._name}: {self._path} has no sound")

    def _decode(self) -> Iterator[Samples]:
        converter = AudioConverter(self._sample_rate, self._channels)
        chunks = Rechunker(self._chunk_frames, self._channels)
        for frame in self._frames("audio"):
            assert isinstance(frame, av.AudioFrame)
            frame.pts = None  # the resampler need not follow the file's timestamps across loops
            yield from chunks.add(converter.convert(frame))

    def _rate(self) -> Fraction:
        # One schedule slot per chunk: sample_rate / chunk_frames chunks a second, exactly.
        return Fraction(self._sample_rate, self._chunk_frames)
