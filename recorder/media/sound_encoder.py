"""One segment of the room's sound track (passthrough sessions): AAC in a fragmented MP4.

The sound track holds the room's sound on the session clock (``recorder.media.drift``), so
it is always encoded: AAC, the one codec left to encode. Like the composite segments, each
file has a fresh encoder (it decodes alone), is fragmented and flushed as it goes, and its
edit list hides the encoder's priming, so that its sound starts at 0 and lasts exactly its
samples.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hardware import Samples
from recorder.errors import RecorderError
from recorder.media.segment_encoder import AAC_FRAME_SAMPLES, CONTAINER_OPTIONS, fsync_segment


class SoundEncoder:
    """Encodes one sound segment into ``path``; feed samples in order, then ``close``."""

    def __init__(self, path: Path, *, sample_rate: int, channels: int, bit_rate: int) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.channels = channels
        self.samples = 0
        self._pts = 0
        self._closed = False
        self._layout = "mono" if channels == 1 else "stereo"
        try:
            self._container = av.open(str(path), mode="w", format="mp4", options=CONTAINER_OPTIONS)
        except (av.FFmpegError, OSError) as exc:
            raise RecorderError(f"cannot create segment file {path}: {exc}") from exc
        try:
            self._stream = self._container.add_stream("aac", rate=sample_rate)
            context = self._stream.codec_context
            context.layout = self._layout
            context.time_base = Fraction(1, sample_rate)
            context.bit_rate = bit_rate
            self._resampler = av.AudioResampler(
                format="fltp", layout=self._layout, rate=sample_rate, frame_size=AAC_FRAME_SAMPLES
            )
            self._container.start_encoding()
        except av.FFmpegError as exc:
            self.abort()
            raise RecorderError(f"cannot set up the AAC encoder for {path.name}: {exc}") from exc

    def add_samples(self, samples: Samples) -> None:
        """Encode the next samples, (n, channels) int16."""
        if not len(samples):
            return
        packed = np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(packed, format="s16", layout=self._layout)
        frame.sample_rate = self.sample_rate
        frame.pts = self.samples
        frame.time_base = Fraction(1, self.sample_rate)
        self.samples += len(samples)
        self._encode(frame)

    def close(self) -> None:
        """Flush the encoder, close the file and fsync it."""
        if self._closed:
            raise RecorderError(f"segment {self.path.name} is already closed")
        self._encode(None)
        try:
            self._container.close()
        except av.FFmpegError as exc:
            self.abort()
            raise RecorderError(f"encoding segment {self.path.name} failed: {exc}") from exc
        self._closed = True
        fsync_segment(self.path)

    def abort(self) -> None:
        """Close without flushing: what was written stays on disk for recovery."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(av.FFmpegError):
            self._container.close()
        with contextlib.suppress(RecorderError):
            fsync_segment(self.path)

    def _encode(self, frame: av.AudioFrame | None) -> None:
        try:
            chunks: list[av.AudioFrame | None] = list(self._resampler.resample(frame))
            if frame is None:
                chunks.append(None)
            for chunk in chunks:
                if chunk is not None:
                    chunk.pts = self._pts
                    chunk.time_base = Fraction(1, self.sample_rate)
                    self._pts += chunk.samples
                for packet in self._stream.encode(chunk):
                    if packet.size:
                        self._container.mux(packet)
        except av.FFmpegError as exc:
            self.abort()
            raise RecorderError(f"audio encoding of {self.path.name} failed: {exc}") from exc
