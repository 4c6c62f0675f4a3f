"""ONVIF cameras: found on the room's network, and asked for their stream and keyframe interval.

Optional: a room profile may name a camera's RTSP URL directly. ONVIF saves looking it up:

- **discovery** (``discover_onvif``): a WS-Discovery probe for network video transmitters
  (``wsdiscovery``), multicast on the local network, or unicast to one address;
- **the stream** (``onvif_stream``): the device's media service (``onvif-zeep-async``) gives
  the RTSP URI of a profile and its encoder's settings: codec, size, frame rate and the
  keyframe interval (GOP length). A keyframe interval longer than a segment makes longer
  segments in passthrough, so ``sealroom devices`` says so before anyone records.

The URI a camera gives may hold no credentials; they come from the room's credentials file,
never from the configuration.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hardware.errors import HardwareError
from hardware.rtsp_stream import redact

NVT_NAMESPACE = "http://www.onvif.org/ver10/network/wsdl"
NVT_TYPE = "NetworkVideoTransmitter"
WS_DISCOVERY_PORT = 3702
NAME_SCOPE = "onvif://www.onvif.org/name/"
HARDWARE_SCOPE = "onvif://www.onvif.org/hardware/"


@dataclass(frozen=True, slots=True)
class OnvifDevice:
    """A camera that answered a WS-Discovery probe."""

    xaddrs: tuple[str, ...]  # its device service URLs
    name: str
    hardware: str

    @property
    def host(self) -> str:
        return urlsplit(self.xaddrs[0]).hostname or "" if self.xaddrs else ""

    @property
    def port(self) -> int:
        return (urlsplit(self.xaddrs[0]).port or 80) if self.xaddrs else 80


@dataclass(frozen=True, slots=True)
class OnvifStream:
    """What a camera's media profile says of its stream."""

    profile: str
    uri: str
    codec: str  # "H264", "H265", "JPEG", ...
    width: int
    height: int
    fps: float | None
    keyframe_interval: int | None  # frames between keyframes (GovLength)

    @property
    def keyframe_seconds(self) -> float | None:
        if not self.keyframe_interval or not self.fps:
            return None
        return self.keyframe_interval / self.fps

    @property
    def passthrough(self) -> bool:
        """Whether passthrough can record it as it is (H.264 or H.265)."""
        return self.codec.upper() in ("H264", "H265", "HEVC")


def discover_onvif(
    timeout: float = 3.0, *, address: str | None = None, port: int = WS_DISCOVERY_PORT
) -> list[OnvifDevice]:
    """ONVIF cameras that answer a WS-Discovery probe within ``timeout`` seconds: multicast
    on the local network, or unicast to ``address`` alone."""
    services = _multicast(timeout) if address is None else _unicast(address, port, timeout)
    found = {d.xaddrs: d for d in (_device(service) for service in services)}
    return sorted(found.values(), key=lambda d: d.xaddrs)


def _multicast(timeout: float) -> list[Any]:
    # Imported when used: only discovery needs them, and the recorder starts without them.
    from wsdiscovery import QName
    from wsdiscovery.discovery import ThreadedWSDiscovery

    discovery = ThreadedWSDiscovery()
    try:
        discovery.start()
        return list(
            discovery.searchServices(types=[QName(NVT_NAMESPACE, NVT_TYPE)], timeout=timeout)
        )
    except OSError as exc:
        raise HardwareError(f"ONVIF discovery failed: {exc}") from exc
    finally:
        discovery.stop()


def _unicast(address: str, port: int, timeout: float) -> list[Any]:
    """One probe to one address, and the probe matches it answers: wsdiscovery writes and
    reads the messages; its own unicast search never reads the answers (its sending socket
    is not among those it listens on), so the exchange is done here."""
    from wsdiscovery import QName
    from wsdiscovery.actions import NS_ACTION_PROBE_MATCH
    from wsdiscovery.actions.probe import constructProbe
    from wsdiscovery.message import createSOAPMessage, parseSOAPMessage

    probe = constructProbe([QName(NVT_NAMESPACE, NVT_TYPE)], [])
    matches: list[Any] = []
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.sendto(createSOAPMessage(probe).encode(), (address, port))
            while (left := deadline - time.monotonic()) > 0:
                udp.settimeout(left)
                try:
                    data, sender = udp.recvfrom(65536)
                except TimeoutError:
                    break
                answer = parseSOAPMessage(data, sender[0])
                if (
                    answer is not None
                    and answer.getAction() == NS_ACTION_PROBE_MATCH
                    and answer.getRelatesTo() == probe.getMessageId()
                ):
                    matches.extend(answer.getProbeResolveMatches())
        except OSError as exc:
            raise HardwareError(f"ONVIF discovery of {address}:{port} failed: {exc}") from exc
    return matches


def _device(service: Any) -> OnvifDevice:
    scopes = [str(s.getValue() if hasattr(s, "getValue") else s) for s in service.getScopes()]

    def scope(prefix: str) -> str:
        value = next((s[len(prefix) :] for s in scopes if s.startswith(prefix)), "")
        return value.replace("%20", " ")

    return OnvifDevice(
        xaddrs=tuple(str(x) for x in service.getXAddrs()),
        name=scope(NAME_SCOPE),
        hardware=scope(HARDWARE_SCOPE),
    )


def onvif_stream(
    host: str,
    port: int,
    user: str | None,
    password: str | None,
    *,
    profile: str | None = None,
    timeout: float = 10.0,
) -> OnvifStream:
    """The RTSP stream of ``profile`` (the first one by default) of the camera at
    ``host:port``, and its encoder's settings. HardwareError if it cannot be had."""
    try:
        return asyncio.run(asyncio.wait_for(_stream(host, port, user, password, profile), timeout))
    except HardwareError:
        raise
    except (TimeoutError, OSError) as exc:
        raise HardwareError(f"ONVIF camera {host}:{port} did not answer: {exc}") from exc
    except Exception as exc:  # zeep and aiohttp raise their own kinds; all mean the same here
        raise HardwareError(f"ONVIF camera {host}:{port}: {type(exc).__name__}: {exc}") from exc


async def _stream(
    host: str, port: int, user: str | None, password: str | None, profile: str | None
) -> OnvifStream:
    from onvif import ONVIFCamera  # zeep and aiohttp: heavy, and only ONVIF needs them

    camera = ONVIFCamera(host, port, user, password)
    try:
        await camera.update_xaddrs()
        media = await camera.create_media_service()
        profiles = await media.GetProfiles()
        if not profiles:
            raise HardwareError(f"ONVIF camera {host}:{port} has no media profile")
        chosen = next((p for p in profiles if profile in (None, p.token, p.Name)), None)
        if chosen is None:
            names = ", ".join(str(p.token) for p in profiles)
            raise HardwareError(f"ONVIF camera {host}:{port} has no profile {profile!r} ({names})")
        answer = await media.GetStreamUri(
            {
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                "ProfileToken": chosen.token,
            }
        )
        return _described(chosen, str(answer.Uri))
    finally:
        await camera.close()


def _described(profile: Any, uri: str) -> OnvifStream:
    encoder = profile.VideoEncoderConfiguration
    codec = str(getattr(encoder, "Encoding", "") or "")
    resolution = getattr(encoder, "Resolution", None)
    rate = getattr(encoder, "RateControl", None)
    fps = getattr(rate, "FrameRateLimit", None) if rate is not None else None
    gop = None
    for settings in (getattr(encoder, "H264", None), getattr(encoder, "H265", None)):
        if settings is not None and getattr(settings, "GovLength", None):
            gop = int(settings.GovLength)
    return OnvifStream(
        profile=str(profile.token),
        uri=redact(uri) if "@" in uri else uri,
        codec=codec,
        width=int(getattr(resolution, "Width", 0) or 0),
        height=int(getattr(resolution, "Height", 0) or 0),
        fps=float(fps) if fps else None,
        keyframe_interval=gop,
    )
