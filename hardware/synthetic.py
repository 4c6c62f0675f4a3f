"""Synthetic camera and microphone, paced in real time, for rooms without devices and for tests.

Both are deterministic: what they deliver depends only on their parameters, the seed and the
item's index. Only *when* an item is delivered depends on the clock: item ``i`` is never
delivered before ``open time + i / rate``, and a late reader gets the overdue items at once,
so over any stretch of wall-clock time the count is exactly the nominal rate (no drift).

For measuring sound-to-picture sync, both can mark the same instants of their shared clock:
every ``marker_seconds`` (on the clock's own grid, so two devices opened at different moments
still agree) the camera shows a white frame (the frame nearest the instant) and the
microphone plays a loud 1 kHz beep starting exactly at it.
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np

from hardware.clock import MONOTONIC, NS_PER_SECOND, Clock
from hardware.errors import HardwareError
from hardware.schedule import RealTimeSchedule
from hardware.sources import AudioChunk, Image, Samples, VideoFrame

# 75% colour bars (BGR), the broadcast test pattern: easy to recognise, easy on the encoder.
_BARS_BGR = (
    (191, 191, 191),
    (0, 191, 191),
    (191, 191, 0),
    (0, 191, 0),
    (191, 0, 191),
    (0, 0, 191),
    (191, 0, 0),
)
_SCROLL_PIXELS_PER_FRAME = 4
_LOOP_SECONDS = 8  # the microphone's signal repeats every 8 s; every component fits it exactly
_FLASH_LEVEL = 255
_BEEP_HZ = 1000
_BEEP_SECONDS = 0.1
_BEEP_AMPLITUDE = 0.9  # louder than anything in the speech loop (< 0.55): easy to find


def _marker_ns(marker_seconds: float | None) -> int | None:
    if marker_seconds is None:
        return None
    if marker_seconds <= _BEEP_SECONDS:
        raise HardwareError(f"markers must be more than {_BEEP_SECONDS:g} s apart")
    return round(marker_seconds * NS_PER_SECOND)


class _Paced:
    """Open/closed state shared by both sources; ``read`` raises when the device is not open."""

    def __init__(self, name: str, schedule: RealTimeSchedule) -> None:
        self._name = name
        self._schedule = schedule
        self._index = 0
        self._open = False
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def open(self) -> None:
        """Start delivering: item 0 is due now."""
        with self._lock:
            self._index = 0
            self._schedule.start()
            self._open = True

    def close(self) -> None:
        """Stop delivering; a ``read`` blocked in another thread returns None at once."""
        with self._lock:
            self._open = False
            self._schedule.stop()

    def _next_index(self, *, lead: int, timeout: float | None) -> int | None:
        """Wait until item ``index + lead`` is due, then hand out ``index``."""
        if not self._open:
            raise HardwareError(f"{self._name} is not open")
        index = self._index
        if not self._schedule.wait_for(index + lead, timeout) or not self._open:
            return None
        self._index = index + 1
        return index


class SyntheticCamera(_Paced):
    """Colour bars, a scrolling textured band, a bouncing box and a frame counter with clock."""

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        *,
        fps: int = 30,
        name: str = "synthetic-cam",
        seed: int = 0,
        clock: Clock = MONOTONIC,
        marker_seconds: float | None = None,
    ) -> None:
        if width < 64 or height < 64 or fps <= 0:
            raise HardwareError(f"{name}: unsupported format {width}x{height} at {fps} fps")
        super().__init__(name, RealTimeSchedule(fps, clock=clock))
        self._marker_ns = _marker_ns(marker_seconds)
        self._width, self._height, self._fps = width, height, fps
        rng = np.random.default_rng(seed)
        self._band_top = height * 2 // 3
        self._background = _colour_bars(width, height)
        self._texture = _texture(rng, width=width, height=height - self._band_top)
        self._box_size = max(8, height // 8)
        self._box_colour = tuple(int(c) for c in rng.integers(64, 256, size=3))
        self._box_phase = int(rng.integers(0, 10_000))
        self._font_scale = height / 720
        self._font_thickness = max(1, round(2 * self._font_scale))

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def fps(self) -> int:
        return self._fps

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        """The next frame, once it is due; None if it is not due within ``timeout`` seconds."""
        index = self._next_index(lead=0, timeout=timeout)
        if index is None:
            return None
        # The sensor timestamp is the due time, not the moment we woke up: no jitter.
        captured_ns = self._schedule.due_ns(index)
        image = self.render(index)
        if self._is_flash(captured_ns):
            image[:] = _FLASH_LEVEL
        return VideoFrame(image=image, captured_ns=captured_ns)

    def _is_flash(self, captured_ns: int) -> bool:
        """Whether this frame is the one nearest a marker instant."""
        if self._marker_ns is None:
            return False
        offset = captured_ns % self._marker_ns
        frame_ns = NS_PER_SECOND / self._fps
        return 2 * offset < frame_ns or 2 * (self._marker_ns - offset) <= frame_ns

    def render(self, index: int) -> Image:
        """Frame ``index`` of the pattern, without waiting for it (benchmarks pre-render)."""
        image = self._background.copy()
        band = image[self._band_top :]
        offset = (index * _SCROLL_PIXELS_PER_FRAME) % self._width
        band[:] = self._texture[:, offset : offset + self._width]
        self._draw_box(image, index)
        self._draw_caption(image, index)
        return image

    def _draw_box(self, image: Image, index: int) -> None:
        # A triangle wave across the bars: motion the encoder has to follow, never a cut.
        span = self._width - self._box_size
        step = (index * 6 + self._box_phase) % (2 * span)
        x = step if step < span else 2 * span - step
        y = (self._band_top - self._box_size) // 2
        image[y : y + self._box_size, x : x + self._box_size] = self._box_colour

    def _draw_caption(self, image: Image, index: int) -> None:
        millis = index * 1000 // self._fps
        clock = (
            f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:"
            f"{millis // 1000 % 60:02d}.{millis % 1000:03d}"
        )
        text = f"{self._name}  frame {index:07d}  {clock}"
        scale, thickness = self._font_scale, self._font_thickness
        (text_w, text_h), baseline = cv2.getTextSize(
            text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness
        )
        margin = max(4, round(10 * scale))
        image[0 : text_h + baseline + 2 * margin, 0 : text_w + 2 * margin] = 0
        cv2.putText(
            image,
            text,
            (margin, margin + text_h),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )


class SyntheticMicrophone(_Paced):
    """A quiet 440 Hz tone under speech-like sound: a voiced buzz and breath noise shaped into
    syllables (about four a second) with pauses between phrases."""

    def __init__(
        self,
        sample_rate: int = 48000,
        channels: int = 1,
        *,
        chunk_ms: int = 20,
        name: str = "synthetic-mic",
        seed: int = 0,
        clock: Clock = MONOTONIC,
        marker_seconds: float | None = None,
    ) -> None:
        chunk_frames, remainder = divmod(sample_rate * chunk_ms, 1000)
        if sample_rate < 8000 or not 1 <= channels <= 8 or chunk_frames <= 0 or remainder:
            raise HardwareError(
                f"{name}: unsupported format {sample_rate} Hz, {channels} "
                f"channel(s), {chunk_ms} ms chunks"
            )
        # Chunk k covers samples [k*n, (k+1)*n): sample_rate/n chunks a second, exactly.
        super().__init__(name, RealTimeSchedule(sample_rate, chunk_frames, clock=clock))
        self._marker_ns = _marker_ns(marker_seconds)
        self._sample_rate, self._channels = sample_rate, channels
        self._chunk_frames = chunk_frames
        self._loop = _speech_loop(np.random.default_rng(seed), sample_rate)

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def chunk_frames(self) -> int:
        """Samples per channel in each chunk."""
        return self._chunk_frames

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk, once its last sample is due; None if not within ``timeout`` seconds."""
        index = self._next_index(lead=1, timeout=timeout)
        if index is None:
            return None
        captured_ns = self._schedule.due_ns(index)
        samples = self.samples(index)
        if self._marker_ns is not None:
            self._beep(samples, captured_ns, self._marker_ns)
        return AudioChunk(samples=samples, captured_ns=captured_ns)

    def _beep(self, samples: Samples, captured_ns: int, marker_ns: int) -> None:
        """Replace the samples that fall in a beep (it starts exactly on a marker instant)."""
        times = captured_ns + np.arange(len(samples), dtype=np.int64) * NS_PER_SECOND // (
            self._sample_rate
        )
        since = times % marker_ns
        inside = since < round(_BEEP_SECONDS * NS_PER_SECOND)
        if inside.any():
            tone = _BEEP_AMPLITUDE * np.sin(2 * np.pi * _BEEP_HZ * since[inside] / NS_PER_SECOND)
            samples[inside] = np.round(tone * 32767).astype(np.int16)[:, np.newaxis]

    def samples(self, index: int) -> Samples:
        """Chunk ``index`` as (n, channels) int16, without waiting for it."""
        first = index * self._chunk_frames
        mono = np.take(self._loop, np.arange(first, first + self._chunk_frames), mode="wrap")
        return np.repeat(mono[:, np.newaxis], self._channels, axis=1)


def _colour_bars(width: int, height: int) -> Image:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    edges = np.linspace(0, width, len(_BARS_BGR) + 1).round().astype(int)
    for colour, left, right in zip(_BARS_BGR, edges[:-1], edges[1:], strict=True):
        image[:, left:right] = colour
    return image


def _texture(rng: np.random.Generator, *, width: int, height: int) -> Image:
    """Smooth coloured noise that wraps around horizontally, laid out twice side by side so
    that any frame-wide window of it (the scroll position) is a single slice."""
    cell = 12
    coarse = rng.integers(
        0, 256, size=(max(2, height // cell), max(2, width // cell), 3), dtype=np.uint8
    )
    # Interpolate three copies side by side and keep the middle one: its edges then meet
    # seamlessly when it is repeated.
    wide = cv2.resize(
        np.concatenate([coarse] * 3, axis=1), (3 * width, height), interpolation=cv2.INTER_CUBIC
    )
    tile = wide[:, width : 2 * width]
    return np.ascontiguousarray(np.concatenate([tile, tile], axis=1))


def _speech_loop(rng: np.random.Generator, sample_rate: int) -> Samples:
    """``_LOOP_SECONDS`` of signal whose every component is periodic in the loop, so it repeats
    without a click."""
    n = sample_rate * _LOOP_SECONDS
    t = np.arange(n) / sample_rate
    tone = 0.05 * np.sin(2 * np.pi * 440 * t)  # 3520 whole cycles per loop

    # Voiced sound: harmonics of a 120 Hz pitch, weighted around two formants (~500, ~1500 Hz).
    voiced = np.zeros(n)
    for k in range(1, 3000 // 120 + 1):
        f = 120 * k
        weight = math.exp(-(((f - 500) / 250) ** 2)) + 0.6 * math.exp(-(((f - 1500) / 400) ** 2))
        voiced += (weight + 0.02) / k * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    voiced /= np.max(np.abs(voiced))

    # Breath noise, band-limited to 300..3400 Hz in the frequency domain (periodic in the loop).
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    noise = np.fft.irfft(spectrum, n)
    noise /= np.max(np.abs(noise))

    # Syllables: 250 ms raised-cosine bumps of random loudness, with a phrase pause per 2 s.
    slot = sample_rate // 4
    envelope = np.zeros(n)
    bump = np.hanning(slot)
    for i in range(n // slot):
        silent = i % 8 == 7 or rng.random() < 0.15
        envelope[i * slot : (i + 1) * slot] = 0.0 if silent else rng.uniform(0.4, 1.0) * bump

    signal = tone + envelope * (0.35 * voiced + 0.12 * noise)
    return np.round(signal * 32767).astype(np.int16)
