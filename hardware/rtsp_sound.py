"""A camera's own microphone: the sound of its RTSP stream, decoded, as a ``Microphone``.

Interview-room cameras carry a microphone, and a room may record its sound rather than a
separate one (``microphone = { kind = "rtsp", ... }``). When the room also records that
camera, the sound comes over the camera's own connection (``CameraSound``, fed by the
camera's reader): one media clock for the camera's picture and sound, so they keep the sync
the camera gave them. Otherwise ``RtspMicrophone`` opens a connection of its own, read in the
device's thread (``hardware/threaded.py``). Either way the samples are converted to the
room's rate and channels and stamped with the camera's clock put on ours
(``hardware.rtsp_stream``). That clock may run fast or slow: correcting it is the recorder's
work (``recorder.media.drift``).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

from hardware.clock import MONOTONIC, Clock
from hardware.rtsp import redact
from hardware.rtsp_stream import RtspStream
from hardware.sources import AudioChunk
from hardware.threaded import ThreadedDevice

CHUNK_BUFFER = 100  # 2 s of 20 ms packets
QUEUE_CHUNKS = 500  # 10 s of 20 ms packets: sound is small, keep plenty


class CameraSound:
    """A ``hardware.Microphone`` fed by the reader of the camera it belongs to (``feed``)."""

    def __init__(self, name: str, sample_rate: int, channels: int) -> None:
        self._name = name
        self._rate = sample_rate
        self._channels = channels
        self._queue: queue.Queue[AudioChunk] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self.overflowed = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return self._channels

    def open(self) -> None:
        """The camera's reader connects; nothing to open here."""

    def close(self) -> None:
        """Nothing to release."""

    def feed(self, chunk: AudioChunk) -> None:
        """Called by the camera's reader with each decoded sound packet."""
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            self.overflowed += 1

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


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
