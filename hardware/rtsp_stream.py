"""An IP camera's stream as it arrives: compressed packets, never decoded (passthrough).

A camera that encodes H.264 or H.265 in hardware has already done the expensive work; the
recorder keeps its packets as they are. ``RtspStream`` is one connection to the camera
(PyAV over TCP, like ``RtspCamera``) that hands out each packet with the instant it was
captured on the caller's clock, and can decode the camera's sound when the room records it.

Capture times: FFmpeg puts the camera's picture and sound on one media clock (the RTP-Info of
the PLAY answer, then the camera's RTCP sender reports, which map each stream's RTP clock to
the camera's NTP time); ``ArrivalAnchor`` puts that clock on ours at the least-delayed
arrival, less the camera's known ``latency_ms``. Without sender reports the arrival times
alone place the stream.

Every method runs in the caller's thread, and one thread only: FFmpeg objects may not be used
from two threads (``hardware/threaded.py``). The blocking read gives up after
``read_timeout`` seconds, so a silent camera is an error, not a hang.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import av
import av.container
import numpy as np

from hardware.audio_convert import AudioConverter
from hardware.clock import MONOTONIC, Clock
from hardware.errors import HardwareError
from hardware.sources import AudioChunk
from hardware.timestamps import ArrivalAnchor

US_PER_SECOND = 1_000_000
VIDEO_CODECS = ("h264", "hevc")  # what passthrough records as it arrives
# Camera sound an MP4 file holds as it is; G.711 (pcm_alaw, pcm_mulaw) it does not.
MP4_AUDIO_CODECS = ("aac", "opus")
VIDEO, AUDIO = 0, 1  # the anchor's stream keys
JUMP_NS = 3_000_000_000  # a timestamp step this far from its arrival spacing is a jump


def redact(url: str) -> str:
    """The URL without user name and password, fit for logs and the evidence chain."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def with_credentials(url: str, user: str, password: str) -> str:
    """``url`` with ``user:password@`` inserted (quoted), replacing any there."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def rtsp_reason(exc: BaseException) -> str:
    """FFmpeg's message without the URL it quotes (which may hold a password)."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return type(exc).__name__ if isinstance(exc, av.FFmpegError) else str(exc)


@dataclass(frozen=True, slots=True)
class StreamPacket:
    """One compressed packet of the camera's picture or sound.

    ``packet`` is PyAV's, with the camera's own timestamps (``packet.time_base``);
    ``captured_ns`` is when its first sample was taken, on the stream's clock; ``media_ns``
    is its timestamp on the camera's media clock."""

    kind: Literal["video", "audio"]
    packet: av.Packet[Any]
    captured_ns: int
    media_ns: int
    arrived_ns: int

    @property
    def keyframe(self) -> bool:
        return bool(self.packet.is_keyframe)


@dataclass(frozen=True, slots=True)
class StreamFormat:
    """What the camera announced when the connection opened."""

    video_codec: str
    width: int
    height: int
    fps: float | None
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None

    @property
    def audio_fits_mp4(self) -> bool:
        return self.audio_codec in MP4_AUDIO_CODECS


def _joined(first: StreamPacket, second: StreamPacket) -> StreamPacket:
    """One picture from two packets of it, the bytes of both in the order they came."""
    packet = av.Packet(bytes(first.packet) + bytes(second.packet))
    packet.pts, packet.dts = first.packet.pts, first.packet.dts
    packet.time_base = first.packet.time_base
    packet.is_keyframe = first.packet.is_keyframe or second.packet.is_keyframe
    return StreamPacket(
        kind="video",
        packet=packet,
        captured_ns=first.captured_ns,
        media_ns=first.media_ns,
        arrived_ns=second.arrived_ns,
    )


class RtspStream:
    """One connection to an RTSP camera, read packet by packet (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        open_timeout: float = 5.0,
        read_timeout: float = 2.0,
        latency_ms: int = 0,
        audio: bool = True,
        video: bool = True,
        any_video: bool = False,
        clock: Clock = MONOTONIC,
    ) -> None:
        if urlsplit(url).scheme not in ("rtsp", "rtsps"):
            raise HardwareError(f"not an RTSP URL: {redact(url)}")
        self.name = name or f"rtsp:{redact(url).split('://', 1)[1]}"
        self._url = url
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self._latency_ns = latency_ms * 1_000_000
        self._want_audio = audio
        self._want_video = video  # False: the camera's sound only (a microphone)
        self._any_video = any_video  # True: decoded (composite), so any codec will do
        self._clock = clock
        self._anchor = ArrivalAnchor(latency_ns=self._latency_ns)
        # Per stream: the shift taking its timestamp jumps out, its last media and arrival.
        self._jumps: dict[int, tuple[int, int | None, int | None]] = {}
        self._container: av.container.InputContainer | None = None
        self._decoder: AudioConverter | None = None
        self.format: StreamFormat | None = None
        self.video_stream: av.video.stream.VideoStream | None = None
        self.audio_stream: av.audio.stream.AudioStream | None = None

    @property
    def connected(self) -> bool:
        return self._container is not None

    def connect(self) -> StreamFormat:
        """Open the connection; HardwareError if the camera cannot be reached or sends no
        H.264/H.265 picture."""
        self.close()
        options = {
            "rtsp_transport": "tcp",
            "timeout": str(int(self.read_timeout * US_PER_SECOND)),
            "analyzeduration": "500000",
            "probesize": "262144",
            "fflags": "nobuffer",
        }
        try:
            container = av.open(
                self._url, options=options, timeout=(self.open_timeout, self.read_timeout)
            )
        except (av.FFmpegError, OSError) as exc:
            raise HardwareError(f"{self.name}: cannot connect: {rtsp_reason(exc)}") from exc
        audio = container.streams.audio[0] if container.streams.audio and self._want_audio else None
        video = container.streams.video[0] if container.streams.video else None
        problem = self._refusal(video, audio)
        if problem is not None:
            container.close()
            raise HardwareError(f"{self.name}: {problem}")
        self._container = container
        self.video_stream = video if self._want_video else None
        self.audio_stream = audio
        self._anchor.reset()
        self._jumps.clear()
        self._decoder = None
        rate = None if video is None else (video.average_rate or video.guessed_rate)
        self.format = StreamFormat(
            video_codec="" if video is None else video.codec_context.name,
            width=0 if video is None else video.codec_context.width,
            height=0 if video is None else video.codec_context.height,
            fps=float(rate) if rate else None,
            audio_codec=None if audio is None else audio.codec_context.name,
            sample_rate=None if audio is None else audio.codec_context.sample_rate,
            channels=None if audio is None else audio.codec_context.channels,
        )
        return self.format

    def _refusal(
        self,
        video: av.video.stream.VideoStream | None,
        audio: av.audio.stream.AudioStream | None,
    ) -> str | None:
        if not self._want_video:
            return None if audio is not None else "the stream has no sound"
        if video is None:
            return "the stream has no video"
        codec = video.codec_context.name
        if codec not in VIDEO_CODECS and not self._any_video:
            return (
                f"the camera sends {codec}; passthrough records H.264 or H.265 "
                "(record this camera in composite mode)"
            )
        return None

    def packets(self) -> Iterator[StreamPacket]:
        """The camera's packets as they arrive, picture and sound interleaved, one picture
        per packet. Raises HardwareError when the stream fails, stalls past
        ``read_timeout`` or ends.

        FFmpeg's RTP depacketiser may hand out one picture in two packets with the same
        timestamp (parameter sets sent ahead of a keyframe); they are joined back into the
        one access unit the camera sent, bytes unchanged, so each picture is held back until
        the next packet shows it is complete."""
        container = self._container
        if container is None:
            raise HardwareError(f"{self.name} is not connected")
        streams = [s for s in (self.video_stream, self.audio_stream) if s is not None]
        held: StreamPacket | None = None  # the newest picture, until it is known complete
        try:
            for packet in container.demux(streams):
                if packet.dts is None and packet.pts is None:
                    continue  # the demuxer's flush packet at the end
                item = self._stamp(packet)
                if item.kind == "audio":
                    yield item
                    continue
                if held is not None and item.packet.pts == held.packet.pts:
                    held = _joined(held, item)
                    continue
                if held is not None:
                    yield held
                held = item
        except (av.FFmpegError, OSError) as exc:
            raise HardwareError(f"{self.name}: the stream failed: {rtsp_reason(exc)}") from exc
        raise HardwareError(f"{self.name}: the stream ended")

    def _stamp(self, packet: av.Packet[Any]) -> StreamPacket:
        arrived = self._clock.now_ns()
        stamp = packet.pts if packet.pts is not None else packet.dts
        assert stamp is not None and packet.time_base is not None
        video = packet.stream is self.video_stream
        key = VIDEO if video else AUDIO
        media = self._continuous(key, round(stamp * packet.time_base * 1_000_000_000), arrived)
        captured = self._anchor.captured_ns(media_ns=media, arrival_ns=arrived, stream=key)
        return StreamPacket(
            kind="video" if video else "audio",
            packet=packet,
            captured_ns=captured,
            media_ns=media,
            arrived_ns=arrived,
        )

    def _continuous(self, stream: int, media_ns: int, arrived_ns: int) -> int:
        """The stream's media time with its jumps taken out.

        FFmpeg moves a stream's timestamps to its sender reports' clock when the first one
        arrives: a jump of minutes or hours, at a different moment for picture and sound.
        Within one connection a stream cannot really pause longer than the read timeout, so a
        jump further than that (or backwards) is such a move: the stream goes on from where it
        was, by its arrival spacing, and the picture and sound keep the alignment they had."""
        shift, last_media, last_arrival = self._jumps.get(stream, (0, None, None))
        if last_media is not None and last_arrival is not None:
            step = media_ns + shift - last_media
            waited = arrived_ns - last_arrival
            if step < -JUMP_NS or step > waited + JUMP_NS:
                shift = last_media + max(0, waited) - media_ns
        continuous = media_ns + shift
        self._jumps[stream] = (shift, continuous, arrived_ns)
        return continuous

    def decode_audio(self, item: StreamPacket, sample_rate: int, channels: int) -> AudioChunk:
        """The samples of one sound packet, as int16 PCM at ``sample_rate`` (the nominal rate
        conversion only: a clock's drift is the recorder's to correct)."""
        assert item.kind == "audio" and self.audio_stream is not None
        if self._decoder is None:
            self._decoder = AudioConverter(sample_rate, channels)
        try:
            frames = self.audio_stream.codec_context.decode(item.packet)
        except av.FFmpegError as exc:
            raise HardwareError(f"{self.name}: cannot decode the sound: {exc}") from exc
        parts = [self._decoder.convert(frame) for frame in frames]
        if not parts:
            samples = np.zeros((0, channels), dtype=np.int16)
        else:
            samples = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return AudioChunk(samples=samples, captured_ns=item.captured_ns)

    def close(self) -> None:
        container, self._container = self._container, None
        self.video_stream = self.audio_stream = None
        if container is not None:
            # Closing a broken connection: there is nothing more to save from it.
            with contextlib.suppress(av.FFmpegError):
                container.close()
