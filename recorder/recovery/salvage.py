"""What can be saved of a segment file the recorder never finished.

A segment is a fragmented MP4 flushed fragment by fragment, so a file cut off by a crash holds
every fragment written before it, possibly followed by a torn one. Salvage keeps the packets
that demux and decode cleanly, in order, up to the first one that does not, and remuxes them
(no re-encoding: the bytes of every kept frame are the recorder's own) into a new fragmented
MP4 that plays on its own. The original file is never modified.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import av
import av.audio.stream
import av.container
import av.video.stream

from recorder.errors import RecorderError
from recorder.media import CONTAINER_OPTIONS


@dataclass(frozen=True, slots=True)
class Salvage:
    """A remuxed segment: ``frames`` video frames, ``audio_packets`` AAC packets."""

    path: Path
    frames: int
    audio_packets: int
    source_bytes: int


def media_duration_us(path: Path) -> int:
    """How long a finished segment lasts, from its packets' timestamps: its picture's (or,
    for a sound segment, its sound's) first timestamp to the end of its last packet."""
    try:
        with av.open(str(path)) as container:
            stream = _main_stream(container)
            first: float | None = None
            end = 0.0
            for packet in container.demux(stream):
                if not packet.size or packet.pts is None or packet.time_base is None:
                    continue
                at = float(packet.pts * packet.time_base)
                first = at if first is None else min(first, at)
                end = max(end, at + float((packet.duration or 0) * packet.time_base))
    except (av.FFmpegError, IndexError) as exc:
        raise RecorderError(f"cannot read segment {path.name}: {exc}") from exc
    return max(1, round((end - (first or 0.0)) * 1_000_000))


def _main_stream(
    container: av.container.InputContainer,
) -> av.video.stream.VideoStream | av.audio.stream.AudioStream:
    """The picture, or the sound of a sound-only segment (a passthrough session's sound)."""
    if container.streams.video:
        return container.streams.video[0]
    return container.streams.audio[0]


def count_video_frames(path: Path) -> int:
    """Frames in a finished segment, by demuxing (one H.264 packet per frame): its length."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.FFmpegError, IndexError) as exc:
        raise RecorderError(f"cannot read segment {path.name}: {exc}") from exc


def salvage_segment(source: Path, target: Path) -> Salvage | None:
    """Remux the cleanly decodable start of ``source`` into ``target``; whoever publishes
    it flushes it to disk (``evidence_store.publish_once``).

    Returns None, writing nothing, when no video frame of ``source`` decodes: an empty file,
    one cut off before its first fragment, or one that is not a segment at all.
    """
    size = source.stat().st_size
    if size == 0:
        return None
    packets = _decodable_packets(source)
    if packets is None:
        return None
    _write(source, target, packets)
    return Salvage(
        path=target, frames=packets.frames, audio_packets=packets.audio, source_bytes=size
    )


@dataclass(frozen=True, slots=True)
class _Kept:
    count: int  # how many packets, in demux order, are kept
    frames: int
    audio: int


def _decodable_packets(source: Path) -> _Kept | None:
    """How far into ``source`` the packets decode cleanly."""
    try:
        container = av.open(str(source))
    except av.FFmpegError:
        return None
    with container:
        if not container.streams.video and not container.streams.audio:
            return None
        video = _main_stream(container)
        audio = (
            container.streams.audio[0]
            if container.streams.audio and video is not container.streams.audio[0]
            else None
        )
        streams = [video] if audio is None else [video, audio]
        count = frames = audio_packets = decoded = 0
        try:
            for packet in container.demux(streams):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream marker
                if packet.is_corrupt or packet.dts is None:
                    break
                output = packet.decode()  # through the stream's own decoder
                count += 1
                if packet.stream.index == video.index:
                    frames += 1
                    decoded += len(output)
                else:
                    audio_packets += 1
            # Frames the decoder still holds (B-frame reordering) come out at the flush.
            decoded += len(video.codec_context.decode(None))
        except av.FFmpegError:
            pass  # a torn fragment: keep what came before it
        if frames == 0 or decoded == 0:
            return None
        return _Kept(count=count, frames=frames, audio=audio_packets)


def _write(source: Path, target: Path, kept: _Kept) -> None:
    try:
        with av.open(str(source)) as container:
            video = _main_stream(container)
            audio = (
                container.streams.audio[0]
                if container.streams.audio and video is not container.streams.audio[0]
                else None
            )
            streams = [video] if audio is None else [video, audio]
            with av.open(str(target), mode="w", format="mp4", options=CONTAINER_OPTIONS) as output:
                mapping = {s.index: output.add_stream_from_template(s) for s in streams}
                written = 0
                for packet in container.demux(streams):
                    if packet.size == 0:
                        continue
                    if written == kept.count:
                        break
                    packet.stream = mapping[packet.stream.index]
                    output.mux(packet)
                    written += 1
    except av.FFmpegError as exc:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # our own half-written copy, not the evidence
        raise RecorderError(f"cannot remux {source.name}: {exc}") from exc
