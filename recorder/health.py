"""Live health of each device, for the room terminal: what arrives, what is lost, how loud."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hardware import AudioChunk

SILENCE_DBFS = -100.0  # the meter's floor: digital silence has no finite level
METER_SECONDS = 0.3  # about what a VU meter integrates over


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """One device. For a microphone a "frame" is one chunk of samples as the device
    delivered it (typically 10-20 ms)."""

    name: str
    kind: Literal["camera", "microphone"]
    frames_received: int
    frames_dropped: int  # delivered but not recorded: the recorder fell behind, or too late
    last_frame_age_seconds: float | None  # since the newest frame was captured; None: none yet
    audio_level_dbfs: float | None  # RMS over the last ~0.3 s; None for cameras
    lost: bool  # reported lost in the chain and not yet restored
    error: str | None  # the device's last error, while it has not delivered since
    clock_corrections: int = 0  # changes of the rate its sound is resampled at (in the chain)


class AudioMeter:
    """RMS level of the most recent ``METER_SECONDS`` of sound, in dBFS (full-scale sine:
    -3 dBFS). Fed by the capture thread, read by any thread."""

    def __init__(self, sample_rate: int) -> None:
        self._window = max(1, round(sample_rate * METER_SECONDS))
        self._chunks: deque[tuple[int, float]] = deque()  # (samples, sum of squares)
        self._samples = 0
        self._energy = 0.0
        self.level_dbfs: float | None = None

    def observe(self, chunk: AudioChunk) -> None:
        values = chunk.samples.astype(np.float64) / 32768.0
        entry = (values.size, float(np.dot(values.ravel(), values.ravel())))
        self._chunks.append(entry)
        self._samples += entry[0]
        self._energy += entry[1]
        while len(self._chunks) > 1 and self._samples - self._chunks[0][0] >= self._window:
            samples, energy = self._chunks.popleft()
            self._samples -= samples
            self._energy -= energy
        mean = max(0.0, self._energy) / max(1, self._samples)
        self.level_dbfs = SILENCE_DBFS if mean <= 0 else max(SILENCE_DBFS, 10 * math.log10(mean))
