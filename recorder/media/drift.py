"""A device's sound on the session clock: its clock's drift corrected by smooth resampling.

Cheap devices run their own audio clocks: a camera or microphone 0.1% fast sends 48,048
samples for every second of ours while saying 48 kHz, and played as 48 kHz its sound falls
behind its picture by a millisecond every second. Cutting or padding whole chunks to keep up
would throw evidence away (or invent silence) every few seconds; instead the samples go
through libsamplerate at a ratio that follows the device's measured rate, changed smoothly
(libsamplerate glides from one ratio to the next over a block), so no sample is dropped or
made up and the sound stays on the session clock. A device whose clock keeps time is never
resampled: its samples are kept as they came until a first correction is needed.

The measurement: every chunk says when (on the session clock) its first sample was taken and
how many samples it holds. A least-squares line through the last minute of (time, samples so
far) is the device's real rate; the ratio is the session's rate over it, plus, while the sound is
more than a few milliseconds off, a small term that takes the offset back over half a
minute. A new ratio is applied only
when it differs from the one in use by ``MIN_STEP_PPM``: each such change is a *correction*,
counted and reported to the caller (which records it in the chain). A jump in the device's
timestamps (a reconnect, an outage) is not drift: the sound is placed afresh, and the caller
fills the gap with silence (or, if the device repeats time already recorded, the repeated
samples are cut, and counted).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import samplerate

from hardware import Samples

NS_PER_SECOND = 1_000_000_000
WINDOW_SECONDS = 60.0  # the rate is measured over this much of the device's recent sound
FIRST_ESTIMATE_SECONDS = 5.0  # no measurement before this much sound
UPDATE_SECONDS = 5.0  # the ratio is reconsidered this often
CATCH_UP_SECONDS = 30.0  # an offset that has built up is taken back over this long
DEAD_BAND_SECONDS = 0.004  # an offset below this is left alone (it is mostly jitter)
MIN_STEP_PPM = 50  # a smaller change of ratio is noise, not worth a correction
MAX_CORRECTION_PPM = 5000  # beyond 0.5% it is a broken device or a jump, not drift
RESYNC_SECONDS = 0.25  # an offset this large is a discontinuity: placed afresh
CONVERTER = "sinc_fastest"  # libsamplerate's band-limited sinc: transparent for speech


@dataclass(frozen=True, slots=True)
class Correction:
    """A change of the resampling ratio: ``ratio_ppm`` is how far the ratio in use now is
    from 1 (positive: more samples out than in), ``device_ppm`` how fast the device's clock
    was measured against the session's, at output sample ``at_sample``."""

    ratio_ppm: int
    device_ppm: int
    at_sample: int

    def describe(self) -> str:
        clock = "fast" if self.device_ppm > 0 else "slow"
        return (
            f"audio clock {abs(self.device_ppm)} ppm {clock} against the session clock: "
            f"resampled by {self.ratio_ppm:+d} ppm from sample {self.at_sample} on"
        )


@dataclass(slots=True)
class Placed:
    """What a chunk became: ``samples`` to append at session sample ``slot``, and what had
    to be done to get there."""

    samples: Samples
    slot: int
    cut: int = 0  # samples dropped because the device repeated time already recorded
    corrections: list[Correction] = field(default_factory=list)


class ClockFollower:
    """Resamples one device's chunks onto the session clock (see the module docstring).

    ``origin_ns`` is session sample 0; a chunk's ``captured_ns`` is on the same clock. Feed
    chunks in order from one thread; ``flush`` at the end returns the resampler's tail."""

    def __init__(
        self, sample_rate: int, channels: int, *, origin_ns: int, ratio: float = 1.0
    ) -> None:
        self.rate = sample_rate
        self.channels = channels
        self.origin_ns = origin_ns
        self.ratio = ratio  # a device's known rate carries over from an earlier run
        self.samples_resampled = 0  # output samples made at a ratio other than 1
        self.corrections = 0
        self._resampler = samplerate.Resampler(CONVERTER, channels=channels)
        self._out = 0  # session samples placed so far (the next chunk continues here)
        self._mapped = 0.0  # where the input so far ends on the output, ideally
        self._started = False
        self._resampling = False  # once a correction is made, every sample goes through it
        self._points: deque[tuple[float, int]] = deque()  # (seconds, input samples before)
        self._input = 0
        self._since_update = 0
        self._window = round(WINDOW_SECONDS * sample_rate)

    def target(self, captured_ns: int) -> float:
        """The session sample at which a sample taken at ``captured_ns`` belongs."""
        return (captured_ns - self.origin_ns) * self.rate / NS_PER_SECOND

    def place(self, samples: Samples, captured_ns: int) -> Placed:
        """Where ``samples`` (captured from ``captured_ns``) go, resampled to the session
        clock. The returned slot continues the last chunk, unless the device jumped."""
        target = self.target(captured_ns)
        placed = Placed(np.zeros((0, self.channels), dtype=np.int16), self._out)
        if not self._started or abs(target - self._mapped) > RESYNC_SECONDS * self.rate:
            samples = self._restart(samples, target, placed)
            if not len(samples):
                return placed
        else:
            self._observe(captured_ns, len(samples), target, placed)
        out = self._convert(samples)
        self._mapped += len(samples) * self.ratio
        if self.ratio != 1.0:
            self.samples_resampled += len(out)
        placed.samples = out
        placed.slot = self._out
        self._out += len(out)
        return placed

    def flush(self) -> Samples:
        """The samples still inside the resampler, to end the recording with."""
        tail = self._drain()
        self._out += len(tail)
        return tail

    # -- internals ---------------------------------------------------------------------------

    def _restart(self, samples: Samples, target: float, placed: Placed) -> Samples:
        """Place a chunk afresh: the first of a run, or after a jump in the device's time (an
        outage: the millisecond the resampler still held of the stretch before is not kept,
        since what follows it is a gap anyway)."""
        if self._resampling:
            self._resampler = samplerate.Resampler(CONVERTER, channels=self.channels)
        slot = round(target)
        if slot < self._out:  # it repeats time already placed (or starts before the run)
            skip = min(len(samples), self._out - slot)
            if self._started:
                placed.cut += skip
            samples = samples[skip:]
            slot += skip
        self._out = max(self._out, slot)  # the caller fills what lies between with silence
        self._mapped = float(self._out)
        self._points.clear()
        self._since_update = 0
        self._started = True
        return samples

    def _observe(self, captured_ns: int, count: int, target: float, placed: Placed) -> None:
        seconds = (captured_ns - self.origin_ns) / NS_PER_SECOND
        self._points.append((seconds, self._input))
        self._input += count
        while self._points and self._input - self._points[0][1] > self._window:
            self._points.popleft()
        self._since_update += count
        span = self._points[-1][0] - self._points[0][0] if self._points else 0.0
        if self._since_update < UPDATE_SECONDS * self.rate or span < FIRST_ESTIMATE_SECONDS:
            return
        self._since_update = 0
        times = np.array([p[0] for p in self._points])
        counts = np.array([p[1] for p in self._points], dtype=np.float64)
        device_rate = float(np.polyfit(times, counts, 1)[0])  # input samples per second
        if device_rate <= 0:
            return
        offset = target - self._mapped  # output samples the sound is behind where it belongs
        ratio = self.rate / device_rate
        if abs(offset) > DEAD_BAND_SECONDS * self.rate:
            ratio += offset / (device_rate * CATCH_UP_SECONDS)
        limit = MAX_CORRECTION_PPM / 1e6
        ratio = min(1 + limit, max(1 - limit, ratio))
        ratio = 1 + round((ratio - 1) * 1e6) / 1e6
        if abs(ratio - self.ratio) * 1e6 < MIN_STEP_PPM:
            return
        self.ratio = ratio
        self.corrections += 1
        placed.corrections.append(
            Correction(
                ratio_ppm=round((ratio - 1) * 1e6),
                device_ppm=round((device_rate / self.rate - 1) * 1e6),
                at_sample=self._out,
            )
        )

    def _convert(self, samples: Samples) -> Samples:
        if self.ratio == 1.0 and not self._resampling:
            return samples  # a device on time is kept sample for sample
        self._resampling = True
        values = samples.astype(np.float32) / 32768.0
        out = self._resampler.process(values, self.ratio, end_of_input=False)
        return _to_int16(out, self.channels)

    def _drain(self) -> Samples:
        if not self._resampling:
            return np.zeros((0, self.channels), dtype=np.int16)
        out = self._resampler.process(
            np.zeros((0, self.channels), dtype=np.float32), self.ratio, end_of_input=True
        )
        self._resampler = samplerate.Resampler(CONVERTER, channels=self.channels)
        return _to_int16(out, self.channels)


def _to_int16(values: np.ndarray, channels: int) -> Samples:
    shaped = np.asarray(values, dtype=np.float32).reshape(-1, channels)
    return np.asarray(np.clip(np.rint(shaped * 32768.0), -32768, 32767), dtype=np.int16)
