"""What the witness costs the recorder: the time to seal a segment (hash, store, link, sign,
and with the witness on, queue the head) at the 99th percentile, witness on against off.

    python -m benchmarks.seal_with_witness [--segments 300] [--segment-kib 512]

The witness is a real ``sealroom witness serve`` on loopback (SQLite); with it on, every head
is queued in the ``witness`` outbox in the sealing call and sent by the sender's thread while
the next segments are sealed, as in the recorder service. The baseline, in the same run, is
the same segments sealed with no witness configured. Each segment's file is written before
the clock starts, as the encoder would have; the final seal is timed too. Prints figures and
ratios; never asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from evidence_store import MediaInfo, SessionMetadata, SessionWriter
from evidence_store.installation import DataDir
from evidence_store.settings import EvidenceSettings
from evidence_store.witnessing import WitnessLink
from tests.support.witness import WitnessProcess

MEDIA = MediaInfo(width=1280, height=720, fps=30, sample_rate=48000, channels=1, segment_seconds=2)
METADATA = SessionMetadata(case_number="BENCH-2", room="Phòng 1")


def seal_times(
    root: Path, url: str | None, segments: int, size: int
) -> tuple[list[float], float, int]:
    """(seconds per segment seal, seconds of the final seal, heads still queued at the end)."""
    data = DataDir.resolve(root, EvidenceSettings(witness_url=url))
    data.store(create=True)
    link = WitnessLink.open(data)
    if link is not None:
        link.start()
    writer = SessionWriter.start(
        data.store(), data.signer(), METADATA, MEDIA, on_head=None if link is None else link.hook
    )
    payload = os.urandom(size)
    times = []
    for index in range(segments):
        writer.inflight_path(index).write_bytes(payload[:-8] + index.to_bytes(8, "big"))
        started = time.perf_counter()
        writer.seal_segment(index, start_us=index * 2_000_000, duration_us=2_000_000)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    writer.stop("benchmark")
    final = time.perf_counter() - started
    left = 0
    if link is not None:
        left = link.flush(30)
        link.stop()
    return times, final, left


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--segment-kib", type=int, default=512)
    args = parser.parse_args()
    size = args.segment_kib * 1024
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        witness = WitnessProcess(root / "witness-data")
        witness.start()
        try:
            on, final_on, left = seal_times(root / "on", witness.url, args.segments, size)
        finally:
            witness.stop()
        off, final_off, _ = seal_times(root / "off", None, args.segments, size)
    print(f"{args.segments} segments of {args.segment_kib} KiB sealed")
    median_off, median_on = statistics.median(off) * 1e3, statistics.median(on) * 1e3
    print(f"seal p50  off {median_off:7.2f} ms   on {median_on:7.2f} ms")
    ratio = p99(on) / p99(off)
    print(
        f"seal p99  off {p99(off) * 1e3:7.2f} ms   on {p99(on) * 1e3:7.2f} ms   on/off {ratio:5.2f}"
    )
    print(f"final seal off {final_off * 1e3:6.2f} ms   on {final_on * 1e3:6.2f} ms")
    print(f"heads left queued after 30 s of sending: {left}")


if __name__ == "__main__":
    main()
