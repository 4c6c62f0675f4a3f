"""How fast the recorder's segment encoder runs, against bare PyAV + libx264 on the same frames.

No real-time pacing: synthetic frames are rendered first, then pushed as fast as possible
through (a) the recorder's own code path, ``SegmentEncoder`` one segment after another, with
its audio, and (b) bare PyAV encoding the same frames with the same x264 settings into one
MP4, the way PyAV's examples do (``VideoFrame.from_ndarray(bgr24)`` then ``encode``). A third
line, (c), is x264 alone on frames already in yuv420p: the ceiling for any pipeline.

It prints figures and never asserts them; the goal is pipeline / bare >= 0.85. CPU seconds
per second of stream (user + system, all threads) say how much of the machine a room at 30 fps
takes: above the number of cores, it cannot record in real time.

    python benchmarks/record_pipeline.py [--frames 300] [--sizes 1280x720,1920x1080]
"""

from __future__ import annotations

import argparse
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

from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from recorder.segment_encoder import SegmentEncoder, bgr_to_i420, x264_options
from recorder.settings import RecorderSettings
from recorder.timeline import samples_before

POOL_FRAMES = 120  # distinct frames kept in memory (1080p: 6 MB each); longer runs cycle them


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


def pipeline(settings: RecorderSettings, images: list[np.ndarray], frames: int,
             audio: np.ndarray, out: Path) -> None:
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


def bare(settings: RecorderSettings, images: list[np.ndarray], frames: int, out: Path, *,
         preconverted: list[np.ndarray] | None = None) -> None:
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
                frame = av.VideoFrame.from_ndarray(preconverted[f % len(preconverted)],
                                                   format="yuv420p")
            frame.pts = f
            frame.pict_type = av.video.frame.PictureType.NONE
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def bench_size(width: int, height: int, frames: int, args: argparse.Namespace,
               console: Console) -> list[Measure]:
    settings = RecorderSettings(width=width, height=height, fps=30,
                                segment_seconds=args.segment_seconds, video_preset=args.preset,
                                encoder_threads=args.threads)
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
        bare(settings, images, min(frames, 30), root / "warmup.mp4")  # load x264 once
        for round_ in range(args.repeat):
            out = root / f"segments-{round_}"
            out.mkdir()
            results.append(measure("pipeline (SegmentEncoder, + audio)", frames,
                                   lambda: pipeline(settings, images, frames, audio, out)))
            results.append(measure("bare PyAV libx264 (bgr24 frames)", frames,
                                   lambda: bare(settings, images, frames, root / "bare.mp4")))
            results.append(measure("x264 alone (yuv420p frames)", frames,
                                   lambda: bare(settings, images, frames, root / "raw.mp4",
                                                preconverted=preconverted)))
    console.log(f"{width}x{height}: {frames} frames x {args.repeat}, done")
    return results


def best(results: list[Measure], label: str) -> Measure:
    return max((m for m in results if m.label == label), key=lambda m: m.fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per run (30 = 1 s)")
    parser.add_argument("--sizes", default="1280x720,1920x1080", help="comma-separated WxH")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the best counts")
    parser.add_argument("--segment-seconds", type=int, default=2)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--threads", type=int, default=0, help="x264 threads, 0 = automatic")
    args = parser.parse_args()

    console = Console()
    console.log(f"PyAV {av.__version__}, {os.cpu_count()} CPUs, preset {args.preset}, "
                f"{args.segment_seconds} s segments, x264 threads {args.threads or 'auto'}")
    table = Table(title="Recording pipeline throughput (higher fps is better)")
    for column in ("size", "path", "fps", "x real time", "CPU s per stream s", "vs bare"):
        table.add_column(column, justify="left" if column in {"size", "path"} else "right")
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.lower().split("x"))
        results = bench_size(width, height, args.frames, args, console)
        reference = best(results, "bare PyAV libx264 (bgr24 frames)")
        for label in dict.fromkeys(m.label for m in results):
            m = best(results, label)
            table.add_row(size, label, f"{m.fps:.1f}", f"{m.fps / 30:.2f}",
                          f"{m.cpu_s / (m.frames / 30):.2f}", f"{m.fps / reference.fps:.2f}")
    console.print(table)
    console.print("'CPU s per stream s': CPU time (all threads) to encode one second of 30 fps "
                  "stream; a room needs it below the core count, with room to spare.")


if __name__ == "__main__":
    main()
