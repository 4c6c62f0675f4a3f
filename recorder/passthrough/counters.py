"""What each device of a passthrough recording delivered, counted as it happens, and sealed
into the chain at the end (``evidence_store.DeviceStats``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from evidence_store import DeviceStats, SealLatency
from recorder.status import latency_summary

LATENCY_HISTORY = 100_000  # seal latencies kept per device (more than 2 days of 2 s segments)


@dataclass
class DeviceCounters:
    """One device's counts. Written by its track's thread, read by any (single int stores)."""

    device: str
    kind: Literal["camera", "microphone"]
    track: str | None
    frames_received: int = 0
    frames_dropped: int = 0
    frames_filled: int = 0
    silence_filled_samples: int = 0
    samples_cut: int = 0
    samples_resampled: int = 0
    clock_corrections: int = 0
    join_wait_us: int = 0
    seal_latencies_us: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sealed(self, latency_us: int) -> None:
        with self._lock:
            self.seal_latencies_us.append(max(0, latency_us))
            if len(self.seal_latencies_us) > LATENCY_HISTORY:
                del self.seal_latencies_us[0]

    def seal_latency(self) -> SealLatency | None:
        with self._lock:
            return latency_summary(self.seal_latencies_us)

    def stats(self) -> DeviceStats:
        return DeviceStats(
            device=self.device,
            kind=self.kind,
            track=self.track,
            frames_received=self.frames_received,
            frames_dropped=self.frames_dropped,
            frames_filled=self.frames_filled,
            silence_filled_samples=self.silence_filled_samples,
            samples_cut=self.samples_cut,
            samples_resampled=self.samples_resampled,
            clock_corrections=self.clock_corrections,
            join_wait_us=self.join_wait_us,
            seal_latency=self.seal_latency(),
        )
