"""How fast the recorder's segment encoder runs, against bare PyAV + libx264 on the same frames.

No real-time pacing: synthetic frames are rendered first, then pushed as fast as possible
through (a) the recorder's own code path, ``SegmentEncoder`` one segment after another, with
its audio, and (b) bare PyAV encoding the same frames with the same x264 settings into one
MP4, the way PyAV's examples do (``VideoFrame.from_ndarray(bgr24)`` then ``encode``). A third
line, (c), is x264 alone on frames already in yuv420p: the ceiling for any pipeline.

Then the whole recorder runs in real time for a few seconds per size (synthetic devices,
capture threads, encoding, hashing, signing, sealing into a temporary store), reporting CPU
seconds per second and any frame it dropped or had to fill.

It prints figures and never asserts them; the goal is pipeline / bare >= 0.85. CPU seconds
per second of stream (user + system, all threads) say how much of the machine a room at 30 fps
takes: near the number of cores, it cannot record in real time.

    python benchmarks/record_pipeline.py [--frames 300] [--sizes 1280x720,1920x1080]
                                         [--repeat 2] [--realtime-seconds 6]
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from recorder.media.segment_encoder import SegmentEncoder, bgr_to_i420, x264_options
from recorder.media.timeline import samples_before
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info

POOL_FRAMES = 120  # distinct frames kept in memory (1080p: 6 MB each); longer runs cycle them
PIPELINE = "pipeline"  # (a) SegmentEncoder per segment, with audio
BARE = "bare PyAV"  # (b) PyAV + libx264 on the same BGR frames, one stream, no audio
X264 = "x264 only"  # (c) as (b), frames already yuv420p: the encoder's ceiling


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


def pipeline(
    settings: RecorderSettings, images: list[np.ndarray], frames: int, audio: np.ndarray, out: Path
) -> None:
    """The recorder's path: one SegmentEncoder per segment, audio cut to each segment."""
    per_segment = settings.frames_per_segment
    for index, first in enumerate(range(0, frames, per_segment)):
        count = min(per_segment, frames - first)
        with SegmentEncoder(out / f"{index:06d}.mp4", settings) as encoder:
            for f in range(first, first + count):
                encoder.add_frame(images[f % len(images)])
                lo = samples_before(f, fps=settings.fps, sample_rate=settings.sample_rate)
                hi = samples_before(f + 1, fps=settings.fps, sample_rate=settings.sample_rate)
                encoder.add_samples(audio[lo:hi])
            encoder.close()


def bare(
    settings: RecorderSettings,
    images: list[np.ndarray],
    frames: int,
    out: Path,
    *,
    preconverted: list[np.ndarray] | None = None,
) -> None:
    """Plain PyAV: one stream, same x264 options and GOP, no audio, no segmenting."""
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("libx264", rate=settings.fps)
        stream.width, stream.height, stream.pix_fmt = settings.width, settings.height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, settings.fps)
        stream.codec_context.gop_size = settings.frames_per_segment
        stream.codec_context.thread_count = settings.encoder_threads
        stream.codec_context.options = x264_options(settings)
        for f in range(frames):
            if preconverted is None:
                frame = av.VideoFrame.from_ndarray(images[f % len(images)], format="bgr24")
            else:
                frame = av.VideoFrame.from_ndarray(
                    preconverted[f % len(preconverted)], format="yuv420p"
                )
            frame.pts = f
            frame.pict_type = av.video.frame.PictureType.NONE
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def bench_size(
    width: int, height: int, frames: int, args: argparse.Namespace, console: Console
) -> list[Measure]:
    settings = RecorderSettings(
        width=width,
        height=height,
        fps=30,
        segment_seconds=args.segment_seconds,
        video_preset=args.preset,
        encoder_threads=args.threads,
    )
    camera = SyntheticCamera(width, height, fps=30)
    microphone = SyntheticMicrophone(settings.sample_rate, settings.channels)
    images = [camera.render(i) for i in range(min(frames, POOL_FRAMES))]
    preconverted = [bgr_to_i420(image) for image in images]
    need = samples_before(frames, fps=30, sample_rate=settings.sample_rate)
    chunks = -(-need // microphone.chunk_frames)
    audio = np.concatenate([microphone.samples(i) for i in range(chunks)])[:need]
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="sealroom-bench-") as scratch:
        root = Path(scratch)

        def run_pipeline(count: int, name: str) -> None:
            out = root / name
            out.mkdir()
            pipeline(settings, images, count, audio, out)

        paths: list[tuple[str, Callable[[int, str], None]]] = [
            (PIPELINE, run_pipeline),
            (BARE, lambda count, name: bare(settings, images, count, root / f"{name}.mp4")),
            (
                X264,
                lambda count, name: bare(
                    settings, images, count, root / f"{name}.mp4", preconverted=preconverted
                ),
            ),
        ]
        # Warm every path first (the first encoder of a process pays for page faults and
        # library set-up), then rotate the order each round so none always runs first.
        for number, (_, path) in enumerate(paths):
            path(min(frames, 60), f"warmup-{number}")
        for round_ in range(args.repeat):
            rotated = paths[round_ % len(paths) :] + paths[: round_ % len(paths)]
            for number, (label, path) in enumerate(rotated):
                name = f"run-{round_}-{number}"
                results.append(measure(label, frames, functools.partial(path, frames, name)))
    console.log(f"{width}x{height}: {frames} frames x {args.repeat}, done")
    return results


@dataclass(frozen=True)
class RealTime:
    size: str
    wall_s: float
    cpu_s: float
    media_s: float
    frames_dropped: int
    frames_filled: int
    segments: int


def bench_real_time(width: int, height: int, seconds: float, args: argparse.Namespace) -> RealTime:
    """The whole recorder, paced by the synthetic devices: capture, encode, hash, sign, seal."""
    settings = RecorderSettings(
        width=width,
        height=height,
        fps=30,
        segment_seconds=args.segment_seconds,
        video_preset=args.preset,
        encoder_threads=args.threads,
    )
    with tempfile.TemporaryDirectory(prefix="sealroom-bench-") as scratch:
        root = Path(scratch)
        store = FilesystemStore.open(root / "store", create=True)
        signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
        writer = SessionWriter.start(
            store, signer, SessionMetadata(case_number="BENCH", room="bench"), media_info(settings)
        )
        recorder = SessionRecorder(
            SyntheticCamera(width, height, fps=30),
            SyntheticMicrophone(settings.sample_rate, settings.channels),
            settings,
            writer,
        )
        wall, cpu = time.perf_counter(), time.process_time()
        recorder.start()
        recorder.wait_until(seconds)
        manifest = recorder.stop("benchmark finished")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        status = recorder.status()
    return RealTime(
        f"{width}x{height}",
        wall,
        cpu,
        manifest.duration_us / 1e6,
        status.frames_dropped,
        status.frames_filled,
        len(manifest.segments),
    )


def best(results: list[Measure], label: str) -> Measure:
    return max((m for m in results if m.label == label), key=lambda m: m.fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per run (30 = 1 s)")
    parser.add_argument("--sizes", default="1280x720,1920x1080", help="comma-separated WxH")
    parser.add_argument("--repeat", type=int, default=2, help="runs per size; the best counts")
    parser.add_argument("--segment-seconds", type=int, default=2)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--threads", type=int, default=0, help="x264 threads, 0 = automatic")
    parser.add_argument(
        "--realtime-seconds",
        type=float,
        default=6.0,
        help="also record this long in real time per size (0: skip)",
    )
    args = parser.parse_args()

    console = Console()
    console.log(
        f"PyAV {av.__version__}, {os.cpu_count()} CPUs, preset {args.preset}, "
        f"{args.segment_seconds} s segments, x264 threads {args.threads or 'auto'}"
    )
    table = Table(title="Recording pipeline throughput (higher fps is better)")
    for column in ("size", "path", "fps", "x real time", "CPU s per stream s", "vs bare"):
        table.add_column(column, justify="left" if column in {"size", "path"} else "right")
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.lower().split("x"))
        results = bench_size(width, height, args.frames, args, console)
        reference = best(results, BARE)
        for label in dict.fromkeys(m.label for m in results):
            m = best(results, label)
            table.add_row(
                size,
                label,
                f"{m.fps:.1f}",
                f"{m.fps / 30:.2f}",
                f"{m.cpu_s / (m.frames / 30):.2f}",
                f"{m.fps / reference.fps:.2f}",
            )
    console.print(table)
    if args.realtime_seconds > 0:
        live = Table(title="The whole recorder in real time (synthetic devices, 30 fps)")
        for column in ("size", "wall s", "media s", "CPU s per s", "dropped", "filled", "segments"):
            live.add_column(column, justify="left" if column == "size" else "right")
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.lower().split("x"))
            r = bench_real_time(width, height, args.realtime_seconds, args)
            live.add_row(
                r.size,
                f"{r.wall_s:.2f}",
                f"{r.media_s:.2f}",
                f"{r.cpu_s / r.wall_s:.2f}",
                str(r.frames_dropped),
                str(r.frames_filled),
                str(r.segments),
            )
        console.print(live)
    console.print(
        "pipeline: SegmentEncoder per segment, with AAC audio (the recorder's path)\n"
        "bare PyAV: PyAV + libx264, same frames and x264 settings, one stream, no "
        "audio\n"
        "x264 only: as bare PyAV, frames already in yuv420p (the encoder's ceiling)\n"
        "CPU s per stream s: CPU time, all threads, per second of 30 fps stream; a "
        "room needs it well below the core count\n"
    )


if __name__ == "__main__":
    main()
