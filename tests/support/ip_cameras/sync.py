"""Measuring sound against picture in a recorded session: flashes and beeps on one timeline.

The test cameras (``rtsp_server.py --markers``, the synthetic devices' ``marker_seconds``)
turn a frame white and start a 1 kHz beep on the same instant. Here the sealed segments are
decoded (PyAV, i.e. FFmpeg), each flash and each beep placed on the session's timeline by its
segment's sealed start, and every flash paired with the beep nearest it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from evidence_store import Manifest

FLASH_LUMA = 150  # mean Y of a white frame is ~235; the test pattern's is far lower
BEEP_LEVEL = 0.05  # of full scale: the beep is at half scale, the rest silence


@dataclass(frozen=True)
class Pair:
    flash_us: int
    beep_us: int

    @property
    def offset_ms(self) -> float:
        """Sound minus picture: positive when the beep comes after the flash."""
        return (self.beep_us - self.flash_us) / 1000


def flashes(session_dir: Path, manifest: Manifest, track: str | None) -> list[int]:
    """Session times (µs) of the first white frame of each flash in ``track``'s segments."""
    found: list[int] = []
    lit = False
    for segment in (s for s in manifest.segments if s.track == track):
        with av.open(str(session_dir / segment.path)) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                luma = frame.to_ndarray(format="gray")
                bright = float(luma.mean()) > FLASH_LUMA
                if bright and not lit:
                    assert frame.time is not None
                    found.append(segment.start_us + round(frame.time * 1e6))
                lit = bright
    return found


def beeps(session_dir: Path, manifest: Manifest, track: str | None) -> list[int]:
    """Session times (µs) of the first sample of each beep in ``track``'s segments."""
    found: list[int] = []
    for segment in (s for s in manifest.segments if s.track == track):
        with av.open(str(session_dir / segment.path)) as container:
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            parts = []
            first_time: float | None = None
            for frame in container.decode(stream):
                if first_time is None:
                    first_time = frame.time or 0.0
                parts.append(frame.to_ndarray().astype(np.float64).reshape(-1))
        if not parts:
            continue
        samples = np.abs(np.concatenate(parts))
        loud = samples > BEEP_LEVEL
        onsets = np.flatnonzero(loud & ~np.concatenate([[False], loud[:-1]]))
        base = segment.start_us + round((first_time or 0.0) * 1e6)
        for onset in onsets:
            at = base + round(onset * 1e6 / rate)
            if not found or at - found[-1] > 200_000:  # one beep, not its every cycle
                found.append(at)
    return found


def pair(flash_us: list[int], beep_us: list[int], *, within_us: int = 400_000) -> list[Pair]:
    """Each flash with the beep nearest it (within ``within_us``)."""
    pairs = []
    for flash in flash_us:
        nearest = min(beep_us, key=lambda b: abs(b - flash), default=None)
        if nearest is not None and abs(nearest - flash) <= within_us:
            pairs.append(Pair(flash, nearest))
    return pairs
