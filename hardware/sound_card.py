"""Microphones on the sound card: ALSA, and PulseAudio, captured through PyAV (FFmpeg).

PyAV's wheels build FFmpeg with the ``alsa`` input device but without ``pulse``. PulseAudio
(and PipeWire) are therefore reached through ALSA's ``pulse`` plug-in (Debian
``libasound2-plugins``), which is what ``PulseMicrophone`` does unless the FFmpeg at hand has
a ``pulse`` input of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import av

from hardware.audio_convert import AudioConverter
from hardware.errors import HardwareError
from hardware.sources import AudioChunk
from hardware.threaded import ThreadedDevice
from hardware.timestamps import ArrivalAnchor

CHUNK_BUFFER = 100  # 2 s of 20 ms chunks: sound is small; the recorder keeps more
NS_PER_SECOND = 1_000_000_000


def input_formats() -> set[str]:
    """The capture-device formats this FFmpeg build offers (``alsa``, maybe ``pulse``)."""
    return {name for name in ("alsa", "pulse") if name in av.formats_available}


class SoundCardMicrophone(ThreadedDevice[AudioChunk]):
    """A capture device opened with FFmpeg's ``input_format`` (``alsa`` or ``pulse``).

    The room's sample rate and channel count are asked of the device and the sound is
    resampled to them whatever it delivers (use ALSA's ``plughw:`` devices to let ALSA convert
    instead). Capture times are the sample count placed on the arrival clock
    (``hardware.timestamps``), so they are as smooth as the sound card's own clock.
    """

    def __init__(
        self,
        device: str,
        *,
        input_format: str,
        sample_rate: int = 48000,
        channels: int = 1,
        name: str | None = None,
        open_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            name or f"{input_format}:{device}",
            buffer=CHUNK_BUFFER,
            live=True,
            open_timeout=open_timeout,
        )
        self._device = device
        self._input_format = input_format
        self._sample_rate = sample_rate
        self._channels = channels
        self._container: av.container.InputContainer | None = None
        self._anchor = ArrivalAnchor()

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def channels(self) -> int:
        return self._channels

    def _connect(self) -> None:
        if self._input_format not in input_formats():
            raise HardwareError(f"{self.name}: this FFmpeg has no {self._input_format} input")
        options = {"sample_rate": str(self._sample_rate), "channels": str(self._channels)}
        try:
            self._container = av.open(self._device, format=self._input_format, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise HardwareError(f"{self.name}: cannot open the sound device: {exc}") from exc
        if not self._container.streams.audio:
            raise HardwareError(f"{self.name}: the device delivers no sound")
        self._anchor.reset()

    def _items(self) -> Iterator[AudioChunk]:
        container = self._container
        assert container is not None
        converter = AudioConverter(self._sample_rate, self._channels)
        delivered = 0  # samples so far: the device's own clock
        try:
            for frame in container.decode(container.streams.audio[0]):
                arrival = time.monotonic_ns()
                samples = converter.convert(frame)
                if not len(samples):
                    continue
                delivered += len(samples)
                # The last sample arrived now; the chunk is stamped with its first.
                end_ns = delivered * NS_PER_SECOND // self._sample_rate
                duration = len(samples) * NS_PER_SECOND // self._sample_rate
                captured_end = self._anchor.captured_ns(media_ns=end_ns, arrival_ns=arrival)
                yield AudioChunk(samples=samples, captured_ns=captured_end - duration)
                if self._stopping.is_set():
                    return
        except (av.FFmpegError, OSError) as exc:
            raise HardwareError(f"{self.name}: capture failed: {exc}") from exc

    def _disconnect(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except av.FFmpegError as exc:
                raise HardwareError(f"{self.name}: {exc}") from exc


class AlsaMicrophone(SoundCardMicrophone):
    """An ALSA capture device: ``default``, ``hw:1,0``, ``plughw:CARD=Device,DEV=0``, ..."""

    def __init__(
        self,
        device: str = "default",
        *,
        sample_rate: int = 48000,
        channels: int = 1,
        name: str | None = None,
    ) -> None:
        super().__init__(
            device,
            input_format="alsa",
            sample_rate=sample_rate,
            channels=channels,
            name=name or f"alsa:{device}",
        )


class PulseMicrophone(SoundCardMicrophone):
    """A PulseAudio (or PipeWire) source: ``default`` or a source name from
    ``pactl list short sources``."""

    def __init__(
        self,
        source: str = "default",
        *,
        sample_rate: int = 48000,
        channels: int = 1,
        name: str | None = None,
    ) -> None:
        if "pulse" in input_formats():
            device, input_format = source, "pulse"
        else:
            # ALSA's pulse plug-in takes the source as its DEVICE argument.
            device = "pulse" if source == "default" else f"pulse:DEVICE={source}"
            input_format = "alsa"
        super().__init__(
            device,
            input_format=input_format,
            sample_rate=sample_rate,
            channels=channels,
            name=name or f"pulse:{source}",
        )
