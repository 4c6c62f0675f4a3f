"""A whole room: two cameras composited with the burned-in caption, encoded, sealed. Against
bare PyAV + libx264 encoding the same output frames, in the same run.

1. Throughput, no real-time pacing, for a two-camera 720p composite with caption and a
   1080p composite (best of ``--repeat``, the order rotated each round):
   - *room pipeline*: per frame, the recorder's ``Compositor`` (main picture, scaled inset,
     caption blended in) then ``SegmentEncoder`` with its AAC audio, one segment after
     another, each sealed into a real ``SessionWriter`` chain (hash, link, Ed25519 signature);
   - *bare PyAV*: the same composited frames, rendered beforehand, encoded by PyAV + libx264
     with the same x264 settings and GOP into one MP4 (``VideoFrame.from_ndarray(bgr24)``, the
     way PyAV's examples do), no audio, no segments, no sealing;
   - *x264 only*: as bare, fed the room's own I420 frames: the encoder alone, the ceiling.
   The goal: the room pipeline costs at most 15% more than bare encoding, in fps (ratio
   >= 0.87) and in CPU seconds (ratio <= 1.15; the steadier figure on a busy machine).
   The compositor's own cost per frame, with and without the caption, is reported apart.
2. Real time, each in a fresh process (its peak memory is its own): the whole
   ``SessionRecorder`` with two synthetic cameras and a microphone for ``--seconds``: CPU
   cores it takes (user + system, all threads, per second), frames dropped or filled, the
   p99 and worst time from a segment's last frame to its seal, the worst wait of any frame
   from capture to sealed, and the process's peak RSS. The synthetic cameras' own rendering
   is in those CPU figures; it is measured apart and reported.
3. Rooms at once: 1, 2, ... 720p rooms in parallel processes until one drops or fills a frame
   or seals late: how many real-time rooms this machine sustains.

Prints figures, never asserts.

    python -m benchmarks.room_pipeline [--frames 300] [--repeat 2] [--seconds 8]
                                       [--max-rooms 6] [--skip-rooms]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from rich.console import Console
from rich.table import Table

from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import ensure_device_identity
from evidence_store.store import FilesystemStore
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from recorder.media.compositor import Compositor, Picture
from recorder.media.overlay import Caption
from recorder.media.planar import to_bgr
from recorder.media.segment_encoder import SegmentEncoder, x264_options
from recorder.media.timeline import samples_before, segment_times
from recorder.room.devices import synthetic_room
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info

POOL_FRAMES = 60  # distinct frames per camera kept in memory; longer runs cycle them
FPS = 30
CAPTION = Caption(room="Phòng hỏi cung số 1", case_number="VKS-12/2026")
CONFIGS = {  # name: (width, height, caption)
    "720p, 2 cameras + caption": (1280, 720, True),
    "1080p, 2 cameras + caption": (1920, 1080, True),
}
ROOM = "room pipeline"
BARE = "bare PyAV"
X264 = "x264 only"  # as bare, the frames already in yuv420p: the encoder's ceiling


def settings_for(width: int, height: int, args: argparse.Namespace) -> RecorderSettings:
    return RecorderSettings(
        width=width,
        height=height,
        fps=FPS,
        segment_seconds=2,
        video_preset=args.preset,
        encoder_threads=args.threads,
    )


# -- 1. throughput ------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    label: str
    frames: int
    wall_s: float
    cpu_s: float

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s


def measure(label: str, frames: int, run: Callable[[], None]) -> Measure:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return Measure(label, frames, time.perf_counter() - wall, time.process_time() - cpu)


class Sources:
    """Pre-rendered camera pictures and sound, so that neither path pays for synthesis."""

    def __init__(self, settings: RecorderSettings, frames: int) -> None:
        w, h = settings.width, settings.height
        main, pip = SyntheticCamera(w, h, fps=FPS), SyntheticCamera(w, h, fps=FPS, seed=1)
        count = min(frames, POOL_FRAMES)
        self.main = [main.render(i) for i in range(count)]
        self.pip = [pip.render(i) for i in range(count)]
        mic = SyntheticMicrophone(settings.sample_rate, settings.channels)
        need = samples_before(frames, fps=FPS, sample_rate=settings.sample_rate)
        chunks = -(-need // mic.chunk_frames)
        self.audio = np.concatenate([mic.samples(i) for i in range(chunks)])[:need]
        started = datetime.now(UTC)
        self.walls = [
            started.fromtimestamp(started.timestamp() + i / FPS, UTC) for i in range(frames)
        ]


def room_pipeline(
    settings: RecorderSettings, compositor: Compositor, sources: Sources, frames: int, root: Path
) -> None:
    """The encode thread's work per frame and per segment, minus the waiting."""
    store = FilesystemStore.open(root / "store", create=True)
    signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
    writer = SessionWriter.start(
        store, signer, SessionMetadata(case_number="B", room="B"), media_info(settings)
    )
    per_segment, rate = settings.frames_per_segment, settings.sample_rate
    pool = len(sources.main)
    for index, first in enumerate(range(0, frames, per_segment)):
        count = min(per_segment, frames - first)
        with SegmentEncoder(writer.inflight_path(index), settings) as encoder:
            for f in range(first, first + count):
                frame = compositor.compose(
                    [sources.main[f % pool], sources.pip[f % pool]],
                    wall=sources.walls[f],
                    elapsed_seconds=f // FPS,
                )
                encoder.add_frame(frame)
                lo = samples_before(f, fps=FPS, sample_rate=rate)
                hi = samples_before(f + 1, fps=FPS, sample_rate=rate)
                encoder.add_samples(sources.audio[lo:hi])
            encoded = encoder.close()
        times = segment_times(first, encoded.frames, fps=FPS)
        writer.seal_segment(index, start_us=times.start_us, duration_us=times.duration_us)
    writer.stop("benchmark")


def bare(
    settings: RecorderSettings,
    composited: list[np.ndarray],
    frames: int,
    out: Path,
    *,
    pixel_format: str = "bgr24",
) -> None:
    """Plain PyAV: one stream, same x264 options and GOP, no audio, no segments, no seal."""
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = settings.width, settings.height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        stream.codec_context.gop_size = settings.frames_per_segment
        stream.codec_context.thread_count = settings.encoder_threads
        stream.codec_context.options = x264_options(settings)
        for f in range(frames):
            picture = composited[f % len(composited)]
            frame = av.VideoFrame.from_ndarray(picture, format=pixel_format)
            frame.pts = f
            frame.pict_type = av.video.frame.PictureType.NONE
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def compose_ms(compositor: Compositor, sources: Sources, rounds: int = 200) -> float:
    began = time.perf_counter()
    pool = len(sources.main)
    for f in range(rounds):
        compositor.compose(
            [sources.main[f % pool], sources.pip[f % pool]],
            wall=sources.walls[f % len(sources.walls)],
            elapsed_seconds=f // FPS,
        )
    return (time.perf_counter() - began) / rounds * 1000


@dataclass(frozen=True)
class Throughput:
    room: Measure
    bare: Measure
    x264: Measure
    compose_ms: float
    compose_no_caption_ms: float


def bench_throughput(
    width: int, height: int, caption: bool, args: argparse.Namespace
) -> Throughput:
    settings = settings_for(width, height, args)
    sources = Sources(settings, args.frames)
    picture = Picture(caption=CAPTION if caption else None)
    compositor = Compositor(width, height, cameras=["main", "pip"], picture=picture)
    plain = Compositor(width, height, cameras=["main", "pip"])
    # The room's own output frames (I420), and the same in BGR, as PyAV's examples feed it.
    planar = [
        compositor.compose([m, p], wall=sources.walls[i], elapsed_seconds=0)
        for i, (m, p) in enumerate(zip(sources.main, sources.pip, strict=True))
    ]
    composited = [to_bgr(frame) for frame in planar]
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="sealroom-room-bench-") as scratch:
        root = Path(scratch)

        def run_room(count: int, name: str) -> None:
            room_pipeline(settings, compositor, sources, count, root / name)

        paths: list[tuple[str, Callable[[int, str], None]]] = [
            (ROOM, run_room),
            (BARE, lambda count, name: bare(settings, composited, count, root / f"{name}.mp4")),
            (
                X264,
                lambda count, name: bare(
                    settings, planar, count, root / f"{name}.mp4", pixel_format="yuv420p"
                ),
            ),
        ]
        for number, (_, path) in enumerate(paths):  # warm up: page faults, library set-up
            path(min(args.frames, 60), f"warmup-{number}")
        for round_ in range(args.repeat):
            rotated = paths[round_ % 3 :] + paths[: round_ % 3]
            for number, (label, path) in enumerate(rotated):
                name = f"run-{round_}-{number}"
                results.append(
                    measure(label, args.frames, functools.partial(path, args.frames, name))
                )
    best = {
        label: max((m for m in results if m.label == label), key=lambda m: m.fps)
        for label in (ROOM, BARE, X264)
    }
    return Throughput(
        best[ROOM],
        best[BARE],
        best[X264],
        compose_ms(compositor, sources),
        compose_ms(plain, sources),
    )


# -- 2. real time, in a child process ----------------------------------------------------


def peak_rss_mib() -> float:
    """This process's peak resident memory. ``VmHWM``, not ``getrusage``'s ``ru_maxrss``:
    Linux carries ``ru_maxrss`` over ``execve``, so a child would report its parent's peak
    (the parent here holds gigabytes of pre-rendered 1080p frames)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class RealTime:
    width: int
    height: int
    wall_s: float
    cpu_s: float
    media_s: float
    frames_dropped: int
    frames_filled: int
    segments: int
    seal_p99_s: float
    seal_worst_s: float
    capture_to_seal_worst_s: float
    max_rss_mib: float
    render_cpu_per_s: float  # of cpu_s/wall_s: the synthetic cameras drawing their pictures


def real_time_child(width: int, height: int, seconds: float, args: argparse.Namespace) -> None:
    """Runs in its own process; prints one JSON line."""
    settings = settings_for(width, height, args)
    with tempfile.TemporaryDirectory(prefix="sealroom-room-bench-") as scratch:
        root = Path(scratch)
        store = FilesystemStore.open(root / "store", create=True)
        signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
        writer = SessionWriter.start(
            store, signer, SessionMetadata(case_number="BENCH", room="bench"), media_info(settings)
        )
        devices = synthetic_room(settings)
        recorder = SessionRecorder(
            devices.cameras, devices.microphone, settings, writer, picture=Picture(caption=CAPTION)
        )
        wall, cpu = time.perf_counter(), time.process_time()
        recorder.start()
        recorder.wait_until(seconds)
        manifest = recorder.stop("benchmark finished")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        status = recorder.status()
        seals = recorder.seal_timings()[:-1]  # the last one is the short segment of the stop
    after = np.array([s.after_last_frame_seconds for s in seals])
    waits = np.array([s.capture_to_seal_seconds for s in seals])
    camera = SyntheticCamera(width, height, fps=FPS)
    began = time.process_time()
    for i in range(60):
        camera.render(i)
    render_cpu_per_s = (time.process_time() - began) / 60 * FPS * 2  # two cameras
    result = RealTime(
        width,
        height,
        wall,
        cpu,
        manifest.duration_us / 1e6,
        status.frames_dropped,
        status.frames_filled,
        len(manifest.segments),
        float(np.percentile(after, 99)),
        float(after.max()),
        float(waits.max()),
        peak_rss_mib(),
        render_cpu_per_s,
    )
    print(json.dumps(asdict(result)))


def run_children(
    width: int, height: int, seconds: float, count: int, args: argparse.Namespace
) -> list[RealTime]:
    """``count`` rooms at once, each its own process (one recorder process per room, as
    deployed)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.room_pipeline",
        "--child",
        f"{width}x{height}",
        "--seconds",
        str(seconds),
        "--preset",
        args.preset,
        "--threads",
        str(args.threads),
    ]
    children = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent
        )
        for _ in range(count)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=seconds * 10 + 120)
        results.append(RealTime(**json.loads(out.strip().splitlines()[-1])))
    return results


def sustained(result: RealTime, seconds: float) -> bool:
    """Real time kept: nothing dropped or filled, and every segment sealed well before the
    next one is due."""
    return (
        result.frames_dropped == 0
        and result.frames_filled == 0
        and result.seal_worst_s < 1.0
        and result.media_s >= seconds
    )


# -- report -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per throughput run")
    parser.add_argument("--repeat", type=int, default=2, help="throughput runs; best counts")
    parser.add_argument("--seconds", type=float, default=8.0, help="real-time run length")
    parser.add_argument("--max-rooms", type=int, default=6, help="most parallel rooms tried")
    parser.add_argument("--skip-rooms", action="store_true", help="skip the rooms-at-once part")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--threads", type=int, default=0, help="x264 threads, 0 = automatic")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        width, height = (int(v) for v in args.child.split("x"))
        real_time_child(width, height, args.seconds, args)
        return

    console = Console()
    console.log(
        f"PyAV {av.__version__}, {os.cpu_count()} CPUs, preset {args.preset}, "
        f"2 s segments, {FPS} fps, x264 threads {args.threads or 'auto'}"
    )
    table = Table(title="Throughput, no pacing (higher fps is better)")
    for column in (
        "picture",
        "path",
        "fps",
        "x real time",
        "CPU s per stream s",
        "vs bare",
        "CPU vs bare",
        "compose ms/frame",
        "of which caption",
    ):
        table.add_column(column, justify="left" if column in {"picture", "path"} else "right")
    for name, (width, height, caption) in CONFIGS.items():
        t = bench_throughput(width, height, caption, args)
        console.log(f"{name}: {args.frames} frames x {args.repeat}, done")
        for m in (t.room, t.bare, t.x264):
            is_room = m is t.room
            table.add_row(
                name,
                m.label,
                f"{m.fps:.1f}",
                f"{m.fps / FPS:.2f}",
                f"{m.cpu_s / (m.frames / FPS):.2f}",
                f"{m.fps / t.bare.fps:.2f}",
                f"{m.cpu_s / t.bare.cpu_s:.2f}",
                f"{t.compose_ms:.2f}" if is_room else "",
                f"{t.compose_ms - t.compose_no_caption_ms:.2f}" if is_room else "",
            )
    console.print(table)

    live = Table(
        title=f"The whole recorder in real time ({args.seconds:g} s, two synthetic "
        "cameras + microphone, caption), one process each"
    )
    for column in (
        "size",
        "CPU cores",
        "of which cameras",
        "dropped",
        "filled",
        "segments",
        "seal p99 s",
        "seal worst s",
        "capture→sealed worst s",
        "peak RSS MiB",
    ):
        live.add_column(column, justify="left" if column == "size" else "right")
    per_room: dict[str, RealTime] = {}
    for size in ("1280x720", "1920x1080"):
        width, height = (int(v) for v in size.split("x"))
        [r] = run_children(width, height, args.seconds, 1, args)
        per_room[size] = r
        live.add_row(
            size,
            f"{r.cpu_s / r.wall_s:.2f}",
            f"{r.render_cpu_per_s:.2f}",
            str(r.frames_dropped),
            str(r.frames_filled),
            str(r.segments),
            f"{r.seal_p99_s:.3f}",
            f"{r.seal_worst_s:.3f}",
            f"{r.capture_to_seal_worst_s:.3f}",
            f"{r.max_rss_mib:.0f}",
        )
    console.print(live)

    if not args.skip_rooms:
        rooms = Table(title="720p rooms at once (one process per room)")
        for column in (
            "rooms",
            "CPU cores each",
            "worst dropped",
            "worst filled",
            "worst seal s",
            "sustained",
        ):
            rooms.add_column(column, justify="right")
        best = 0
        for count in range(1, args.max_rooms + 1):
            results = run_children(1280, 720, args.seconds, count, args)
            ok = all(sustained(r, args.seconds) for r in results)
            rooms.add_row(
                str(count),
                " ".join(f"{r.cpu_s / r.wall_s:.2f}" for r in results),
                str(max(r.frames_dropped for r in results)),
                str(max(r.frames_filled for r in results)),
                f"{max(r.seal_worst_s for r in results):.3f}",
                "yes" if ok else "no",
            )
            if not ok:
                break
            best = count
        console.print(rooms)
        r720 = per_room["1280x720"]
        console.print(
            f"this machine ({os.cpu_count()} CPUs) sustains {best} real-time 720p "
            f"room(s); by CPU alone {os.cpu_count() or 1} / "
            f"{r720.cpu_s / r720.wall_s:.2f} = "
            f"{(os.cpu_count() or 1) / (r720.cpu_s / r720.wall_s):.1f}"
        )
    console.print(
        "room pipeline: Compositor (inset scaled, caption blended) + SegmentEncoder with AAC "
        "+ SessionWriter sealing, per 2 s segment\n"
        "x264 only: as bare PyAV, the frames already in yuv420p (the encoder's ceiling)\n"
        "bare PyAV: PyAV + libx264 on the same composited frames, same x264 settings, one "
        "stream, no audio, no sealing\n"
        "goal: at most 15% more cost than bare encoding: vs bare >= 0.87, CPU vs bare <= 1.15\n"
        "CPU cores: CPU seconds (all threads) per second; 'of which cameras' is the synthetic "
        "cameras drawing their test pattern, which real cameras do not cost\n"
        "seal: from a segment's last frame to its signed link; capture→sealed: from its first "
        "frame (the longest any media waits unsealed)"
    )


if __name__ == "__main__":
    main()
