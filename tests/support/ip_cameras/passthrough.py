"""Passthrough rooms of real RTSP cameras (Debian's gst-rtsp-server) for the tests: the
cameras, a session writer on a fresh store, and the checks every recording must pass."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av

from evidence_store.model import Manifest, SegmentRef, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import DeviceSigner, TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from hardware.rtsp_stream import RtspStream
from recorder.passthrough import PassthroughRecorder, passthrough_media
from recorder.settings import RecorderSettings
from tests.support.rtsp import RtspServer, free_port, require_gst_rtsp

SETTINGS = RecorderSettings(segment_seconds=2, device_timeout_seconds=1.0)
METADATA = SessionMetadata(case_number="VKS-16/2026", room="Phòng IP 1")


@contextmanager
def cameras(*configs: dict[str, object]) -> Iterator[list[RtspServer]]:
    """Start one real RTSP camera per config (``RtspServer`` keyword arguments)."""
    require_gst_rtsp()
    servers = [RtspServer(free_port(), **config) for config in configs]  # type: ignore[arg-type]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


class Named:
    """The name the room's sound is recorded under when it comes from a camera."""

    def __init__(self, name: str, settings: RecorderSettings = SETTINGS) -> None:
        self.name = name
        self.sample_rate, self.channels = settings.sample_rate, settings.channels

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, timeout: float | None = None) -> None:
        return None


@dataclass
class Room:
    root: Path
    store: FilesystemStore
    writer: SessionWriter
    recorder: PassthroughRecorder

    @property
    def trust(self) -> TrustStore:
        return TrustStore.from_paths([self.root / "trust"])

    @property
    def session_dir(self) -> Path:
        return self.writer.path


def passthrough_room(
    root: Path,
    servers: Sequence[RtspServer],
    *,
    settings: RecorderSettings = SETTINGS,
    sound_from: int = 0,
) -> Room:
    """A recorder of ``servers`` (cameras named cam-A, cam-B, ...), the room's sound from
    camera ``sound_from``'s own microphone, writing a new session."""
    store = FilesystemStore.open(root / "store", create=True)
    signer = ensure_device_identity(root / "keys", root / "trust", device_name="ip-room")
    streams = [
        RtspStream(server.url, name=f"cam-{chr(65 + i)}", read_timeout=1.0)
        for i, server in enumerate(servers)
    ]
    sound = Named(f"{streams[sound_from].name} sound", settings)
    writer = SessionWriter.start(
        store, signer, METADATA, passthrough_media(settings, [s.name for s in streams], sound.name)
    )
    recorder = PassthroughRecorder(streams, sound, settings, writer, sound_from=sound_from)
    return Room(root, store, writer, recorder)


def record_passthrough(
    store: FilesystemStore,
    signer: DeviceSigner,
    servers: Sequence[RtspServer],
    metadata: SessionMetadata,
    *,
    seconds: float,
) -> SessionWriter:
    """Record ``seconds`` of a passthrough session of ``servers`` into ``store`` (the sound
    from the first camera's own microphone) and seal it."""
    streams = [
        RtspStream(server.url, name=f"cam-{chr(65 + i)}", read_timeout=1.0)
        for i, server in enumerate(servers)
    ]
    sound = Named(f"{streams[0].name} sound")
    media = passthrough_media(SETTINGS, [s.name for s in streams], sound.name)
    writer = SessionWriter.start(store, signer, metadata, media)
    recorder = PassthroughRecorder(streams, sound, SETTINGS, writer, sound_from=0)
    recorder.start()
    recorder.wait_until(seconds, timeout=seconds + 60)
    recorder.stop("kết thúc")
    return writer


def verified(room: Room) -> Manifest:
    verify_session(room.store, room.writer.session_id, room.trust)
    return Manifest.parse((room.session_dir / "manifest.json").read_bytes(), location="manifest")


def track_segments(manifest: Manifest, track: str) -> list[SegmentRef]:
    return [s for s in manifest.segments if s.track == track]


def probe(path: Path) -> list[dict[str, object]]:
    """Debian's ffprobe, decoding every frame of every stream of ``path``."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    streams: list[dict[str, object]] = json.loads(result.stdout)["streams"]
    return streams


def split_nal_units(data: bytes, *, annex_b: bool) -> list[bytes]:
    """NAL units of a picture: Annex B (start codes) or MP4's 4-byte lengths."""
    units: list[bytes] = []
    if not annex_b:
        i = 0
        while i + 4 <= len(data):
            size = int.from_bytes(data[i : i + 4], "big")
            units.append(data[i + 4 : i + 4 + size])
            i += 4 + size
        return units
    i, start = 0, -1
    while True:
        j = data.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        if start >= 0:
            end = j - 1 if j > 0 and data[j - 1] == 0 else j
            units.append(data[start:end])
        start = i = j + 3
    if start >= 0:
        units.append(data[start:])
    return [u for u in units if u]


def sealed_slices(path: Path, codec: str) -> list[tuple[bytes, ...]]:
    """The coded slices (VCL NAL units) of every picture of a sealed segment, in order."""
    pictures = []
    with av.open(str(path)) as container:
        for packet in container.demux(container.streams.video[0]):
            if not packet.size:
                continue
            units = split_nal_units(bytes(packet), annex_b=False)
            pictures.append(tuple(u for u in units if is_slice(u, codec)))
    return pictures


def is_slice(unit: bytes, codec: str) -> bool:
    if codec == "hevc":
        return (unit[0] >> 1) & 0x3F < 32
    return 1 <= unit[0] & 0x1F <= 5
