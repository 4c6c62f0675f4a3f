"""Sound against picture over 30 minutes, in both modes, with a camera whose audio clock is
wrong: the 30-minute measurement the tests cut short (tests/recorder/passthrough/test_drift.py).

A real RTSP test camera (Debian's gst-rtsp-server) sends 48,048 (passthrough run) or 47,952
(composite run) samples a second labelled 48 kHz, with a flash and a beep on the same instant
every second. Uncorrected that is 1.8 s of drift over 30 minutes. Each run is decoded and every
flash paired with its beep: the offsets' range is the drift; the goal is under 40 ms. Also
printed: the clock corrections the chain recorded, the samples resampled, and that none was
cut or filled.

    python -m benchmarks.passthrough_drift [--minutes 30] [--mode passthrough composite]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console

from evidence_store.model import Manifest, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import ensure_device_identity
from evidence_store.store import FilesystemStore
from hardware.rtsp import RtspCamera
from hardware.rtsp_sound import CameraSound
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from tests.support.ip_cameras.passthrough import cameras, passthrough_room
from tests.support.ip_cameras.sync import Pair, beeps, flashes, pair

LIMIT_MS = 40.0


def passthrough_run(root: Path, seconds: float) -> tuple[Path, Manifest, str | None, str | None]:
    with cameras({"audio_clock": 48048, "markers": 1.0}) as servers:
        room = passthrough_room(root, servers)
        room.recorder.start()
        room.recorder.wait_until(seconds, timeout=seconds + 120)
        manifest = room.recorder.stop("measured")
    return room.session_dir, manifest, "cam1", "sound"


def composite_run(root: Path, seconds: float) -> tuple[Path, Manifest, str | None, str | None]:
    settings = RecorderSettings(
        width=320, height=240, fps=15, segment_seconds=2, video_preset="ultrafast"
    )
    with cameras({"audio_clock": 47952, "markers": 1.0}) as servers:
        store = FilesystemStore.open(root / "store", create=True)
        signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
        metadata = SessionMetadata(case_number="BENCH-16", room="Phòng đo")
        writer = SessionWriter.start(store, signer, metadata, media_info(settings))
        sound = CameraSound("cam sound", 48000, 1)
        camera = RtspCamera(servers[0].url, name="cam", sound=sound.feed)
        recorder = SessionRecorder(camera, sound, settings, writer)
        recorder.start()
        recorder.wait_until(seconds, timeout=seconds + 120)
        manifest = recorder.stop("measured")
    return writer.path, manifest, None, None


def report(console: Console, mode: str, pairs: list[Pair], manifest: Manifest) -> None:
    offsets = [p.offset_ms for p in pairs]
    drift = max(offsets) - min(offsets) if offsets else float("nan")
    sound = [d for d in manifest.devices or [] if "sound" in d.device]
    console.print(
        f"{mode}: {len(pairs)} flash/beep pairs over {manifest.duration_us / 60e6:.1f} min, "
        f"offset {min(offsets):+.1f}..{max(offsets):+.1f} ms, drift {drift:.1f} ms "
        f"(goal < {LIMIT_MS:g}; uncorrected: {manifest.duration_us / 1e6:.0f} ms)"
    )
    step = 5 * 60e6 if manifest.duration_us > 10 * 60e6 else 60e6
    for start in range(0, manifest.duration_us, int(step)):  # how the offset moved over time
        window = [p.offset_ms for p in pairs if start <= p.flash_us < start + step]
        if window:
            console.print(
                f"  {start / 60e6:4.0f}-{(start + step) / 60e6:.0f} min: offset "
                f"{min(window):+.1f}..{max(window):+.1f} ms ({len(window)} pairs)"
            )
    for stats in sound:
        console.print(
            f"  {stats.device}: {stats.clock_corrections} clock corrections, "
            f"{stats.samples_resampled} samples resampled, {stats.samples_cut} cut, "
            f"{stats.silence_filled_samples} filled"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--mode",
        nargs="+",
        default=["passthrough", "composite"],
        choices=["passthrough", "composite"],
    )
    args = parser.parse_args()
    console = Console(width=140)
    runs = {"passthrough": passthrough_run, "composite": composite_run}
    for mode in args.mode:
        with tempfile.TemporaryDirectory() as scratch:
            session, manifest, video, audio = runs[mode](Path(scratch), args.minutes * 60)
            pairs = pair(flashes(session, manifest, video), beeps(session, manifest, audio))
            report(console, mode, pairs, manifest)


if __name__ == "__main__":
    main()
