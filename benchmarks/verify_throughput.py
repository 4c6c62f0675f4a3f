"""Verify throughput against plain SHA-256 over the same files, in the same run.

    python -m benchmarks.verify_throughput [--segments 200] [--segment-mib 2] [--rounds 3]

Builds a signed session of random segment bytes (the verifier's cost does not depend on what
the bytes encode), then times, alternately and best of N, (a) ``hashlib.sha256`` over every
file of the session read in 1 MiB chunks and (b) a full ``verify_session``. Prints MB/s of
both and their ratio. Goal: ratio >= 0.9. Never asserts.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

from evidence_store.model import MediaInfo, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session

CHUNK = 1 << 20


def build_session(root: Path, segments: int, segment_bytes: int) -> tuple[FilesystemStore, str]:
    store = FilesystemStore.open(root / "evidence", create=True)
    signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
    metadata = SessionMetadata(case_number="BENCH-1", room="bench")
    media = MediaInfo(
        width=1280, height=720, fps=30, sample_rate=48000, channels=1, segment_seconds=2
    )
    writer = SessionWriter.start(store, signer, metadata, media)
    for index in range(segments):
        writer.inflight_path(index).write_bytes(os.urandom(segment_bytes))
        writer.seal_segment(index, start_us=index * 2_000_000, duration_us=2_000_000)
    writer.stop("benchmark")
    return store, writer.session_id


def plain_sha256(files: list[Path]) -> None:
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=200)
    parser.add_argument("--segment-mib", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, session_id = build_session(root, args.segments, int(args.segment_mib * CHUNK))
        session_dir = store.path(f"sessions/{session_id}")
        files = sorted(p for p in session_dir.rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in files)
        trust = TrustStore.from_paths([root / "trust"])
        plain_sha256(files)  # warm the page cache so both sides read from memory
        best_plain = best_verify = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            plain_sha256(files)
            best_plain = min(best_plain, time.perf_counter() - start)
            start = time.perf_counter()
            verify_session(store, session_id, trust)
            best_verify = min(best_verify, time.perf_counter() - start)
    mb = total / 1e6
    plain_rate, verify_rate = mb / best_plain, mb / best_verify
    print(f"session: {args.segments} segments, {mb:.0f} MB, {len(files)} files")
    print(f"plain sha256     : {plain_rate:8.0f} MB/s  ({best_plain * 1000:.0f} ms)")
    print(f"verify_session   : {verify_rate:8.0f} MB/s  ({best_verify * 1000:.0f} ms)")
    print(f"ratio            : {verify_rate / plain_rate:.3f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
