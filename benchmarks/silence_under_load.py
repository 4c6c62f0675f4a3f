"""Silence filled while the microphone works: the recorder on an idle machine, then with every
core kept busy by other processes, in the same run.

A working microphone that is merely late (scheduling jitter on a loaded appliance) is not a
missing one: the recorder should fill no silence for it. Each round records the synthetic
room (one camera, one microphone, both working throughout) for ``--seconds`` through the real
``SessionRecorder`` and ``SessionWriter``, and reports:
- silence filled (seconds, and as a fraction of the recorded audio);
- frames filled (a late camera is not a missing one either);
- whether the microphone was ever reported lost.

The baseline is the same recording on an idle machine; the loaded run has ``--busy`` processes
spinning on the CPU (default: one per core, plus one). The ratio printed is the loaded run's
recorded audio that was real microphone samples, against the idle run's (1.00: no more
silence under load than at rest).

Prints figures, never asserts.

    python -m benchmarks.silence_under_load [--seconds 20] [--busy N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import ensure_device_identity
from evidence_store.store import FilesystemStore
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info

SETTINGS = RecorderSettings(width=640, height=360, fps=30, segment_seconds=2)


@dataclass(frozen=True)
class Outcome:
    label: str
    recorded_seconds: float
    silence_seconds: float
    frames_filled: int
    microphone_lost: bool

    @property
    def real_audio_fraction(self) -> float:
        if self.recorded_seconds <= 0:
            return 0.0
        return 1.0 - self.silence_seconds / self.recorded_seconds


def spin() -> None:
    while True:
        pass


def record(label: str, seconds: float) -> Outcome:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        store = FilesystemStore.open(root / "store", create=True)
        signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
        writer = SessionWriter.start(
            store, signer, SessionMetadata(case_number="BENCH-1", room="P1"), media_info(SETTINGS)
        )
        recorder = SessionRecorder(
            SyntheticCamera(640, 360), SyntheticMicrophone(), SETTINGS, writer
        )
        recorder.start()
        recorder.wait_until(seconds, timeout=seconds * 4 + 30)
        status = recorder.status()
        manifest = recorder.stop("benchmark done")
        writer.close()
        lost = any(o.device == "synthetic-mic" for o in manifest.device_outages)
        return Outcome(
            label=label,
            recorded_seconds=manifest.duration_us / 1e6,
            silence_seconds=status.silence_filled_seconds,
            frames_filled=status.frames_filled,
            microphone_lost=lost,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--busy", type=int, default=(os.cpu_count() or 2) + 1)
    args = parser.parse_args()

    idle = record("idle", args.seconds)
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for process in spinners:
        process.start()
    try:
        loaded = record(f"{args.busy} busy processes", args.seconds)
    finally:
        for process in spinners:
            process.terminate()
            process.join()

    table = Table(title=f"silence filled for a working microphone, {args.seconds:.0f} s each")
    for column in ("run", "recorded s", "silence filled s", "frames filled", "mic lost"):
        table.add_column(column, justify="right")
    for outcome in (idle, loaded):
        table.add_row(
            outcome.label,
            f"{outcome.recorded_seconds:.2f}",
            f"{outcome.silence_seconds:.4f}",
            str(outcome.frames_filled),
            "yes" if outcome.microphone_lost else "no",
        )
    console = Console()
    console.print(table)
    ratio = loaded.real_audio_fraction / idle.real_audio_fraction if idle.real_audio_fraction else 0
    console.print(
        f"real microphone audio, loaded / idle: {ratio:.4f} "
        f"({loaded.real_audio_fraction:.4%} vs {idle.real_audio_fraction:.4%})"
    )


if __name__ == "__main__":
    main()
