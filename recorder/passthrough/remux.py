"""One segment file of a camera's track: the camera's own packets, remuxed, never decoded.

The file is a fragmented MP4 written as the segment files of the composite mode are
(``recorder.media.CONTAINER_OPTIONS``: a fragment at every keyframe and every second, each
flushed at once), so a kill loses at most what was not yet flushed. Timestamps are the
camera's own, shifted so that the segment starts at 0 (its place on the session timeline is
in its link). Sound an MP4 file cannot hold as it is (G.711) is encoded to AAC; anything else
is kept as the camera sent it.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from hardware import AudioChunk, StreamPacket
from recorder.errors import RecorderError
from recorder.media import CONTAINER_OPTIONS, fsync_segment

AAC_FRAME_SAMPLES = 1024
AAC_BITRATE = 64_000


def _ticks(ns: int, time_base: Fraction) -> int:
    return round(Fraction(ns, 1_000_000_000) / time_base)


class RemuxedSegment:
    """Writes one segment of a camera track to ``path``. Feed packets in order, then
    ``close`` (or ``abort``)."""

    def __init__(
        self,
        path: Path,
        *,
        video: av.video.stream.VideoStream,
        audio: av.audio.stream.AudioStream | None,
        transcode_audio_rate: int | None,
        base_ns: int,
    ) -> None:
        """``base_ns`` is the capture time of the segment's first keyframe."""
        self.path = path
        self.base_ns = base_ns
        self.packets = 0
        self._closed = False
        self._audio_pts = 0
        self._last_dts: dict[str, int] = {}
        try:
            self._container = av.open(str(path), mode="w", format="mp4", options=CONTAINER_OPTIONS)
        except (av.FFmpegError, OSError) as exc:
            raise RecorderError(f"cannot create segment file {path}: {exc}") from exc
        try:
            self._video = self._container.add_stream_from_template(video)
            self._audio: Any = None
            self._resampler: av.AudioResampler | None = None
            self._audio_rate = transcode_audio_rate
            if audio is not None and transcode_audio_rate is None:
                self._audio = self._container.add_stream_from_template(audio)
            elif audio is not None and transcode_audio_rate is not None:
                self._audio = self._container.add_stream("aac", rate=transcode_audio_rate)
                self._audio.codec_context.layout = "mono"
                self._audio.codec_context.bit_rate = AAC_BITRATE
                self._audio.codec_context.time_base = Fraction(1, transcode_audio_rate)
                self._resampler = av.AudioResampler(
                    format="fltp",
                    layout="mono",
                    rate=transcode_audio_rate,
                    frame_size=AAC_FRAME_SAMPLES,
                )
        except (av.FFmpegError, ValueError) as exc:
            self.abort()
            raise RecorderError(f"cannot set up segment {path.name}: {exc}") from exc

    def add(self, item: StreamPacket) -> bool:
        """Mux one packet as the camera sent it; False if the muxer refused it, which the
        caller counts as dropped.

        Its timestamp in the file is its capture time from the segment's start: the
        camera's own spacing, except across a jump in the camera's timestamps (FFmpeg
        switching to the sender reports' clock), which would otherwise tear the file."""
        packet = item.packet
        stream = self._video if item.kind == "video" else self._audio
        if stream is None:
            return False
        time_base = packet.time_base
        assert time_base is not None
        pts = _ticks(item.captured_ns - self.base_ns, time_base)
        reorder = 0
        if packet.pts is not None and packet.dts is not None:
            reorder = packet.pts - packet.dts  # B-frames: decoded before they are shown
        dts = pts - reorder
        last = self._last_dts.get(item.kind)
        if last is not None and dts <= last:
            dts = last + 1
            pts = max(pts, dts)
        if dts < 0:
            return False  # before the segment's first keyframe: belongs to the one before
        packet.pts, packet.dts = pts, dts
        packet.stream = stream
        try:
            self._container.mux(packet)
        except av.FFmpegError:
            return False
        self._last_dts[item.kind] = dts
        self.packets += 1
        return True

    def add_samples(self, chunk: AudioChunk) -> None:
        """Encode decoded camera sound (a codec MP4 cannot hold) as AAC."""
        if self._resampler is None or self._audio is None or not len(chunk.samples):
            return
        assert self._audio_rate is not None
        if self._audio_pts == 0:
            start = max(0, chunk.captured_ns - self.base_ns)
            self._audio_pts = round(start * self._audio_rate / 1_000_000_000)
        packed = chunk.samples[:, :1].reshape(1, -1).copy()
        frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="mono")
        frame.sample_rate = self._audio_rate
        self._encode(frame)

    def close(self) -> None:
        """Flush, close and fsync the file."""
        if self._closed:
            return
        if self._resampler is not None:
            self._encode(None)
        try:
            self._container.close()
        except av.FFmpegError as exc:
            self.abort()
            raise RecorderError(f"writing segment {self.path.name} failed: {exc}") from exc
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
        assert self._resampler is not None
        chunks: list[av.AudioFrame | None] = list(self._resampler.resample(frame))
        if frame is None:
            chunks.append(None)
        for chunk in chunks:
            if chunk is not None:
                chunk.pts = self._audio_pts
                chunk.time_base = Fraction(1, self._audio_rate or 1)
                self._audio_pts += chunk.samples
            for packet in self._audio.encode(chunk):
                if packet.size:
                    self._container.mux(packet)
