"""Decoded sound in whatever format a device or file has, out as the room's int16 PCM."""

from __future__ import annotations

import av
import numpy as np

from hardware.errors import HardwareError
from hardware.sources import Samples


class AudioConverter:
    """Resamples PyAV audio frames to ``sample_rate`` and ``channels`` as (n, channels) int16."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        if channels not in (1, 2):
            raise HardwareError(f"unsupported channel count {channels} (1 or 2)")
        self.sample_rate = sample_rate
        self.channels = channels
        self._layout = "mono" if channels == 1 else "stereo"
        self._resampler = av.AudioResampler(format="s16", layout=self._layout, rate=sample_rate)

    def convert(self, frame: av.AudioFrame | None) -> Samples:
        """The samples of ``frame`` (None: flush what the resampler holds back)."""
        try:
            converted = self._resampler.resample(frame)
        except av.FFmpegError as exc:
            raise HardwareError(f"cannot convert the sound: {exc}") from exc
        parts = [
            np.asarray(f.to_ndarray(), dtype=np.int16).reshape(-1, self.channels) for f in converted
        ]
        if not parts:
            return np.zeros((0, self.channels), dtype=np.int16)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Rechunker:
    """Cuts a stream of samples into chunks of exactly ``chunk_frames`` samples."""

    def __init__(self, chunk_frames: int, channels: int) -> None:
        self.chunk_frames = chunk_frames
        self._pending = np.zeros((0, channels), dtype=np.int16)

    def add(self, samples: Samples) -> list[Samples]:
        joined = samples if len(self._pending) == 0 else np.concatenate([self._pending, samples])
        whole = len(joined) // self.chunk_frames * self.chunk_frames
        self._pending = joined[whole:]
        return [joined[i : i + self.chunk_frames] for i in range(0, whole, self.chunk_frames)]
