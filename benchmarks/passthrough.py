"""IP cameras recorded as they send (passthrough) against the composite room pipeline, in the
same run, on this machine.

The camera is Debian's gst-rtsp-server (tests/support/rtsp_server.py) serving one live 720p30
H.264 stream with Opus sound, shared by every client (``set_shared``), so that one encoder
feeds as many "cameras" as the recorder opens: each is its own RTSP connection, its own
track, its own segments and seals, as separate cameras would be. The server runs in its own
process; the recorder's CPU is measured in this one (user + system time of all its threads,
``getrusage``), so the camera's encoding is never counted.

1. *Passthrough*: ``PassthroughRecorder`` with N cameras (``--cameras``, e.g. 1 8 16 30) for
   ``--seconds`` each, the sound from the first camera's own microphone: CPU cores per
   camera, whether every camera kept up (pictures received against the stream's rate, no
   track lost), the seal latency p99 and worst over all tracks (from a segment's last packet
   to its signed link), and the disk bytes an hour per camera against the camera's own bitrate
   (the payload bytes a plain client receives in the same time).
2. *Composite*, the same run: ``SessionRecorder`` decoding two of these cameras, composing them
   with the caption, encoding with x264 and AAC, sealing: CPU cores per camera.

The goal (issue 16): at least 30 cameras at 720p30 in real time on the two cores, seal latency
p99 under 0.5 s. Prints figures and ratios, never asserts.

    python -m benchmarks.passthrough [--cameras 1 8 16 30] [--seconds 20]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av
from rich.console import Console
from rich.table import Table

from evidence_store.model import Manifest, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import ensure_device_identity
from evidence_store.store import FilesystemStore
from hardware.rtsp import RtspCamera
from hardware.rtsp_sound import CameraSound
from hardware.rtsp_stream import RtspStream
from recorder.media import Caption, Picture
from recorder.passthrough import PassthroughRecorder, passthrough_media
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from tests.support.ip_cameras.passthrough import Named
from tests.support.rtsp import RtspServer, free_port, require_gst_rtsp

FPS = 30
METADATA = SessionMetadata(case_number="BENCH-16", room="Phòng đo")


@dataclass(frozen=True)
class Run:
    label: str
    cameras: int
    seconds: float
    cpu_seconds: float
    kept_up: bool
    seal_p99_s: float | None
    seal_worst_s: float | None
    bytes_per_hour_per_camera: float

    @property
    def cores(self) -> float:
        return self.cpu_seconds / self.seconds

    @property
    def cores_per_camera(self) -> float:
        return self.cores / self.cameras


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def writer_for(root: Path, media: object) -> tuple[FilesystemStore, SessionWriter]:
    store = FilesystemStore.open(root / "store", create=True)
    signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
    return store, SessionWriter.start(store, signer, METADATA, media)  # type: ignore[arg-type]


def passthrough(url: str, cameras: int, seconds: float, root: Path) -> Run:
    settings = RecorderSettings(segment_seconds=2, device_timeout_seconds=2.0)
    streams = [RtspStream(url, name=f"cam-{i:02d}", read_timeout=2.0) for i in range(cameras)]
    sound = Named("cam-00 sound", settings)
    media = passthrough_media(settings, [s.name for s in streams], sound.name)
    _store, writer = writer_for(root, media)
    recorder = PassthroughRecorder(streams, sound, settings, writer, sound_from=0)
    recorder.start()
    recorder.wait_until(3, timeout=60)  # every camera joined (keyframe waits are not measured)
    before, began = cpu_seconds(), time.monotonic()
    received = sum(t.counters.frames_received for t in recorder.tracks[:-1])
    recorder.wait_until(3 + seconds, timeout=seconds + 60)
    cpu, elapsed = cpu_seconds() - before, time.monotonic() - began
    received = sum(t.counters.frames_received for t in recorder.tracks[:-1]) - received
    status = recorder.status()
    manifest = recorder.stop("measured")
    expected = cameras * FPS * elapsed
    kept_up = received >= 0.97 * expected and not status.lost_devices
    return Run(
        "passthrough",
        cameras,
        elapsed,
        cpu,
        kept_up,
        *seal_latency(manifest),
        disk_per_hour_per_camera(manifest, cameras),
    )


def composite(url: str, seconds: float, root: Path) -> Run:
    settings = RecorderSettings(width=1280, height=720, fps=FPS, segment_seconds=2)
    _store, writer = writer_for(root, media_info(settings))
    sound = CameraSound("cam-00 sound", settings.sample_rate, settings.channels)
    cameras = [
        RtspCamera(url, name="cam-00", sound=sound.feed),
        RtspCamera(url, name="cam-01"),
    ]
    picture = Picture(caption=Caption(METADATA.room, METADATA.case_number))
    recorder = SessionRecorder(cameras, sound, settings, writer, picture=picture)
    recorder.start()
    recorder.wait_until(3, timeout=60)
    before, began = cpu_seconds(), time.monotonic()
    recorder.wait_until(3 + seconds, timeout=seconds + 60)
    cpu, elapsed = cpu_seconds() - before, time.monotonic() - began
    status = recorder.status()
    manifest = recorder.stop("measured")
    kept_up = status.frames_dropped + status.frames_filled < 0.03 * FPS * (3 + seconds)
    return Run(
        "composite",
        2,
        elapsed,
        cpu,
        kept_up,
        *seal_latency(manifest),
        disk_per_hour_per_camera(manifest, 2),
    )


def seal_latency(manifest: Manifest) -> tuple[float | None, float | None]:
    latencies = [d.seal_latency for d in manifest.devices or [] if d.seal_latency is not None]
    if not latencies:
        return None, None
    return max(s.p99_us for s in latencies) / 1e6, max(s.worst_us for s in latencies) / 1e6


def disk_per_hour_per_camera(manifest: Manifest, cameras: int) -> float:
    video = [s for s in manifest.segments if s.track != "sound"]
    hours = manifest.duration_us / 3.6e9
    return sum(s.size for s in video) / hours / cameras if hours else 0.0


def camera_bitrate(url: str, seconds: float) -> float:
    """Bytes an hour the camera sends (its packets' payload), read by a plain client."""
    total, began = 0, time.monotonic()
    with av.open(url, options={"rtsp_transport": "tcp"}) as container:
        for packet in container.demux():
            total += packet.size
            if time.monotonic() - began >= seconds:
                break
    return total / (time.monotonic() - began) * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 8, 16, 30])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    require_gst_rtsp()
    console = Console(width=140)
    server = RtspServer(free_port(), size="1280x720", fps=FPS)
    server.start()
    runs: list[Run] = []
    try:
        sent = camera_bitrate(server.url, 10)
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            runs.append(composite(server.url, args.seconds, root / "composite"))
            for count in args.cameras:
                runs.append(passthrough(server.url, count, args.seconds, root / f"pt-{count}"))
                console.print(f"passthrough, {count} cameras: {runs[-1].cores:.2f} cores")
    finally:
        server.stop()
    table = Table(title=f"720p{FPS} H.264 + Opus cameras, {args.seconds:g} s each, 2 cores")
    for column in (
        "mode",
        "cameras",
        "cores",
        "cores/camera",
        "kept up",
        "seal p99 / worst",
        "disk/h/camera vs sent",
    ):
        table.add_column(column)
    for run in runs:
        seal = "-" if run.seal_p99_s is None else f"{run.seal_p99_s:.3f} / {run.seal_worst_s:.3f} s"
        table.add_row(
            run.label,
            str(run.cameras),
            f"{run.cores:.2f}",
            f"{run.cores_per_camera:.3f}",
            "yes" if run.kept_up else "NO",
            seal,
            f"{run.bytes_per_hour_per_camera / 1e9:.2f} GB vs {sent / 1e9:.2f} GB "
            f"({run.bytes_per_hour_per_camera / sent:.2f}x)",
        )
    console.print(table)
    base = runs[0]
    for run in runs[1:]:
        console.print(
            f"{run.cameras} cameras: composite / passthrough CPU per camera = "
            f"{base.cores_per_camera / run.cores_per_camera:.1f}x"
        )
    sustained = [r.cameras for r in runs[1:] if r.kept_up and (r.seal_p99_s or 9) < 0.5]
    console.print(
        f"most cameras kept up in real time with seal p99 < 0.5 s: {max(sustained, default=0)}"
    )


if __name__ == "__main__":
    main()
