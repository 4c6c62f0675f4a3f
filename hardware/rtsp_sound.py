"""A camera's own microphone: the sound of its RTSP stream, decoded, as a ``Microphone``.

Interview-room cameras carry a microphone, and a room may record its sound rather than a
separate one (``microphone = { kind = "rtsp", ... }``). The connection is its own (the
composite mode decodes the camera's picture on another), read in the device's thread
(``hardware/threaded.py``); the samples are converted to the room's rate and channels, and
stamped with the camera's clock put on ours (``hardware.rtsp_stream``). That clock may run
fast or slow: correcting it is the recorder's work (``recorder.media.drift``).
"""

from __future__ import annotations

from collections.abc import Iterator

from hardware.clock import MONOTONIC, Clock
from hardware.rtsp import redact
from hardware.rtsp_stream import RtspStream
from hardware.sources import AudioChunk
from hardware.threaded import ThreadedDevice

CHUNK_BUFFER = 100  # 2 s of 20 ms packets


class RtspMicrophone(ThreadedDevice[AudioChunk]):
    """The sound of an RTSP camera, ``sample_rate`` Hz and ``channels`` channels."""

    def __init__(
        self,
        url: str,
        *,
        sample_rate: int,
        channels: int,
        name: str | None = None,
        open_timeout: float = 5.0,
        read_timeout: float = 2.0,
        latency_ms: int = 0,
        clock: Clock = MONOTONIC,
    ) -> None:
        label = name or f"rtsp-sound:{redact(url).split('://', 1)[1]}"
        super().__init__(label, buffer=CHUNK_BUFFER, live=True, open_timeout=open_timeout + 1)
        self._stream = RtspStream(
            url,
            name=label,
            open_timeout=open_timeout,
            read_timeout=read_timeout,
            latency_ms=latency_ms,
            video=False,
            clock=clock,
        )
        self._rate = sample_rate
        self._channels = channels

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return self._channels

    def _connect(self) -> None:
        self._stream.connect()

    def _items(self) -> Iterator[AudioChunk]:
        for item in self._stream.packets():
            if item.kind == "audio":
                chunk = self._stream.decode_audio(item, self._rate, self._channels)
                if chunk.frames:
                    yield chunk
            if self._stopping.is_set():
                return

    def _disconnect(self) -> None:
        self._stream.close()
