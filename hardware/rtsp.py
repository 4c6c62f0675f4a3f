"""IP cameras over RTSP, read with PyAV (FFmpeg) over TCP.

TCP because interrogation rooms sit on old, lossy LANs: over UDP a lost packet is a smeared
picture, over TCP it is a short delay. A stream that ends, stalls or errors makes ``read``
raise ``HardwareError``; the recorder then reports the camera lost and reopens it with
backoff, which reconnects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import av

from hardware.errors import HardwareError
from hardware.pixels import to_bgr
from hardware.rtsp_stream import RtspStream, redact, rtsp_reason, with_credentials
from hardware.sources import AudioChunk, VideoFrame
from hardware.threaded import ThreadedDevice

FRAME_BUFFER = 8
MAX_DECODER_DELAY = 32  # pictures a decoder may hold back before handing them out
__all__ = ["RtspCamera", "redact", "with_credentials"]


class RtspCamera(ThreadedDevice[VideoFrame]):
    """An RTSP camera, decoded (the composite mode). ``width``, ``height`` and ``fps`` are
    what the stream announced when it was last opened (the hints given before that).

    The connection is ``hardware.rtsp_stream.RtspStream``'s: each picture is stamped from its
    packet (before decoding, so decoding time is not taken for network delay), on the
    camera's media clock shared with its sound. ``sound``, when given, receives the camera's
    own sound decoded from the same connection (the room's microphone may be the camera's:
    ``hardware.rtsp_sound.CameraSound``), so picture and sound keep the sync the camera gave
    them."""

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        open_timeout: float = 5.0,
        read_timeout: float = 2.0,
        latency_ms: int = 0,
        width: int = 0,
        height: int = 0,
        fps: int = 0,
        sound: Callable[[AudioChunk], None] | None = None,
        sound_format: tuple[int, int] = (48000, 1),
    ) -> None:
        if urlsplit(url).scheme not in ("rtsp", "rtsps"):
            raise HardwareError(f"not an RTSP URL: {redact(url)}")
        label = name or f"rtsp:{redact(url).split('://', 1)[1]}"
        super().__init__(label, buffer=FRAME_BUFFER, live=True, open_timeout=open_timeout + 1)
        self._stream = RtspStream(
            url,
            name=label,
            open_timeout=open_timeout,
            read_timeout=read_timeout,
            latency_ms=latency_ms,
            audio=sound is not None,
            any_video=True,
        )
        self._sound = sound
        self._sound_format = sound_format
        self._width, self._height, self._fps = width, height, fps

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def fps(self) -> int:
        return self._fps

    def _connect(self) -> None:
        found = self._stream.connect()
        self._width, self._height = found.width or self._width, found.height or self._height
        if found.fps:
            self._fps = round(found.fps)
        assert self._stream.video_stream is not None
        self._stream.video_stream.thread_type = "AUTO"

    def _items(self) -> Iterator[VideoFrame]:
        stream = self._stream
        rate, channels = self._sound_format
        # The decoder hands a picture out a packet or two after its own (threads): each is
        # stamped with its own packet's capture time, found by its timestamp.
        captured: dict[int | None, int] = {}
        for item in stream.packets():
            if item.kind == "audio":
                if self._sound is not None:
                    self._sound(stream.decode_audio(item, rate, channels))
                continue
            assert stream.video_stream is not None
            captured[item.packet.pts] = item.captured_ns
            try:
                frames = stream.video_stream.codec_context.decode(item.packet)
            except (av.FFmpegError, OSError) as exc:
                raise HardwareError(f"{self.name}: the stream failed: {rtsp_reason(exc)}") from exc
            for frame in frames:
                image = to_bgr(frame)
                self._height, self._width = image.shape[:2]
                stamp = captured.pop(frame.pts, item.captured_ns)
                yield VideoFrame(image=image, captured_ns=stamp)
            while len(captured) > MAX_DECODER_DELAY:
                captured.pop(next(iter(captured)))
            if self._stopping.is_set():
                return

    def _disconnect(self) -> None:
        self._stream.close()
