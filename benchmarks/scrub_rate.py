"""Scrubbing's rate against raw reads of the same bytes, in the same run.

    python -m benchmarks.scrub_rate [--sessions 4] [--segments 50] [--segment-mib 2]
                                    [--paced-mib 40] [--rounds 3]

Builds an installation of signed sessions of random segment bytes, then times, alternately
and best of N, (a) raw reads of every file of every session (1 MiB chunks, no hashing),
(b) the same reads through SHA-256, and (c) a full ``Scrubber.run_pass`` with no practical
rate limit (every segment hashed, every signature and seal checked, a custody event per
session, the state saved after each). Prints MB/s of each and scrubbing's ratio to both;
then one paced pass at ``--paced-mib`` MiB/s and the rate it held. Reading from the page
cache costs next to nothing, so hashing is the price of checking: goals, scrub >= 0.8 of
read + SHA-256, and the paced rate within 15 % of its target. Never asserts.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

from evidence_store.installation import DataDir
from evidence_store.model import MediaInfo, SessionMetadata
from evidence_store.scrub import Scrubber
from evidence_store.session import SessionWriter
from evidence_store.settings import EvidenceSettings

CHUNK = 1 << 20
UNLIMITED = 1 << 40


def build(root: Path, sessions: int, segments: int, segment_bytes: int) -> DataDir:
    data = DataDir.resolve(root, EvidenceSettings(data_dir=root))
    store, signer = data.store(create=True), data.signer()
    media = MediaInfo(
        width=1280, height=720, fps=30, sample_rate=48000, channels=1, segment_seconds=2
    )
    for number in range(sessions):
        metadata = SessionMetadata(case_number=f"BENCH-{number}", room="bench")
        writer = SessionWriter.start(store, signer, metadata, media)
        for index in range(segments):
            writer.inflight_path(index).write_bytes(os.urandom(segment_bytes))
            writer.seal_segment(index, start_us=index * 2_000_000, duration_us=2_000_000)
        writer.stop("benchmark")
    return data


def raw_read(files: list[Path]) -> None:
    for file in files:
        with file.open("rb") as handle:
            while handle.read(CHUNK):
                pass


def read_and_hash(files: list[Path]) -> None:
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)


def scrub_pass(data: DataDir, rate: float) -> float:
    scrubber = Scrubber(data, stores=("local",), bytes_per_second=rate)
    start = time.perf_counter()
    report = scrubber.run_pass()
    elapsed = time.perf_counter() - start
    assert report.complete and not report.failures, report.as_dict()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--segment-mib", type=float, default=2.0)
    parser.add_argument("--paced-mib", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = build(Path(tmp), args.sessions, args.segments, int(args.segment_mib * CHUNK))
        files = sorted(p for p in (data.evidence / "sessions").rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in files)
        raw_read(files)  # warm the page cache so both sides read from memory
        best_raw = best_hashed = best_scrub = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            raw_read(files)
            best_raw = min(best_raw, time.perf_counter() - start)
            start = time.perf_counter()
            read_and_hash(files)
            best_hashed = min(best_hashed, time.perf_counter() - start)
            best_scrub = min(best_scrub, scrub_pass(data, UNLIMITED))
        paced = scrub_pass(data, args.paced_mib * CHUNK)
    mb = total / 1e6
    raw_rate, hashed_rate, scrub_rate = mb / best_raw, mb / best_hashed, mb / best_scrub
    target = args.paced_mib * CHUNK / 1e6
    print(f"installation: {args.sessions} sessions, {mb:.0f} MB, {len(files)} files")
    print(f"raw reads          : {raw_rate:8.0f} MB/s  ({best_raw * 1000:.0f} ms)")
    print(f"reads + sha256     : {hashed_rate:8.0f} MB/s  ({best_hashed * 1000:.0f} ms)")
    print(f"scrub, unpaced     : {scrub_rate:8.0f} MB/s  ({best_scrub * 1000:.0f} ms)")
    print(f"ratio to raw reads : {scrub_rate / raw_rate:.3f}")
    print(f"ratio to sha256    : {scrub_rate / hashed_rate:.3f}  (goal >= 0.8)")
    print(
        f"scrub, paced       : {mb / paced:8.1f} MB/s for a target of {target:.1f} MB/s "
        f"(ratio {mb / paced / target:.2f}; segment bytes are paced, the rest is small)"
    )


if __name__ == "__main__":
    main()
