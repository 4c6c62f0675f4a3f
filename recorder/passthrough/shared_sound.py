"""A camera's own sound as the room's microphone, from the camera's one connection.

When the room records the sound of one of its cameras, that camera's track already receives
the sound packets; it decodes them and hands the samples over here, and the sound track reads
them as it reads any microphone. No second connection to the camera is opened.
"""

from __future__ import annotations

import queue

from hardware import AudioChunk

QUEUE_CHUNKS = 500  # 10 s of 20 ms packets: sound is small, keep plenty


class CameraSound:
    """A ``hardware.Microphone`` fed by a camera track (``feed``)."""

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
        """The camera's track connects; nothing to open here."""

    def close(self) -> None:
        """Nothing to release."""

    def feed(self, chunk: AudioChunk) -> None:
        """Called by the camera's track with each decoded sound packet."""
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            self.overflowed += 1

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
