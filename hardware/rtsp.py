"""IP cameras over RTSP, read with PyAV (FFmpeg) over TCP.

TCP because interrogation rooms sit on old, lossy LANs: over UDP a lost packet is a smeared
picture, over TCP it is a short delay. A stream that ends, stalls or errors makes ``read``
raise ``HardwareError``; the recorder then reports the camera lost and reopens it with
backoff, which reconnects.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import av

from hardware.errors import HardwareError
from hardware.pixels import to_bgr
from hardware.sources import VideoFrame
from hardware.threaded import ThreadedDevice
from hardware.timestamps import ArrivalAnchor

FRAME_BUFFER = 8
US_PER_SECOND = 1_000_000


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


class RtspCamera(ThreadedDevice[VideoFrame]):
    """An RTSP camera. ``width``, ``height`` and ``fps`` are what the stream announced when it
    was last opened (the hints given before that)."""

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
    ) -> None:
        if urlsplit(url).scheme not in ("rtsp", "rtsps"):
            raise HardwareError(f"not an RTSP URL: {redact(url)}")
        super().__init__(
            name or f"rtsp:{redact(url).split('://', 1)[1]}",
            buffer=FRAME_BUFFER,
            live=True,
            open_timeout=open_timeout + 1,
        )
        self._url = url
        self._open_timeout = open_timeout
        self._read_timeout = read_timeout
        self._anchor = ArrivalAnchor(latency_ns=latency_ms * 1_000_000)
        self._width, self._height, self._fps = width, height, fps
        self._container: av.container.InputContainer | None = None

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
        options = {
            "rtsp_transport": "tcp",
            # Socket timeout (µs): a server that stops answering is an error, not a hang.
            "timeout": str(int(self._read_timeout * US_PER_SECOND)),
            # Probe briefly: a camera's stream format is simple, and a long probe delays the
            # first picture after every reconnect by seconds.
            "analyzeduration": "500000",
            "probesize": "262144",
            "fflags": "nobuffer",
        }
        try:
            container = av.open(
                self._url, options=options, timeout=(self._open_timeout, self._read_timeout)
            )
        except (av.FFmpegError, OSError) as exc:
            raise HardwareError(f"{self.name}: cannot connect: {rtsp_reason(exc)}") from exc
        if not container.streams.video:
            container.close()
            raise HardwareError(f"{self.name}: the stream has no video")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        context = stream.codec_context
        self._width, self._height = context.width or self._width, context.height or self._height
        if stream.average_rate:
            self._fps = round(float(stream.average_rate))
        self._anchor.reset()
        self._container = container

    def _items(self) -> Iterator[VideoFrame]:
        container = self._container
        assert container is not None
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    arrival = time.monotonic_ns()
                    media = None if frame.time is None else round(frame.time * 1e9)
                    image = to_bgr(frame)
                    self._height, self._width = image.shape[:2]
                    yield VideoFrame(
                        image=image,
                        captured_ns=self._anchor.captured_ns(media_ns=media, arrival_ns=arrival),
                    )
                if self._stopping.is_set():
                    return
        except (av.FFmpegError, OSError) as exc:
            raise HardwareError(f"{self.name}: the stream failed: {rtsp_reason(exc)}") from exc
        raise HardwareError(f"{self.name}: the stream ended")

    def _disconnect(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except av.FFmpegError as exc:
                raise HardwareError(f"{self.name}: {rtsp_reason(exc)}") from exc


def rtsp_reason(exc: BaseException) -> str:
    """FFmpeg's message without the URL it quotes (which may hold a password)."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return type(exc).__name__ if isinstance(exc, av.FFmpegError) else str(exc)
