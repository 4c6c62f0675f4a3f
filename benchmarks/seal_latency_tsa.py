"""What trusted time costs the recorder: segment seal latency with time-stamping on, against off.

    python -m benchmarks.seal_latency_tsa [--segments 200] [--segment-mib 1] [--rounds 3]

A segment's seal is what the recorder waits for between two segments: hash the file, store it,
write and sign its link (``SessionWriter.seal_segment``). With time-stamping on, every link is
also offered to the stamper, and a head it stamps is queued as an outbox item on disk while the
sender thread talks to a real local authority (``openssl ts -reply`` over HTTP, as in the
tests: on this machine, so its work competes with the recorder's, which a remote authority's
does not). Three modes, alternating in one process on the same files: off (the writer without
the hook), on as configured by default (link 0, then a head per 300 s), and on with every head
stamped (the worst case). Prints p50 and p99 of each and the ratios to off, and checks that
every stamp arrived; never asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from evidence_store.outbox import Backoff, Outbox, OutboxSender, Route
from evidence_store.session import SessionWriter
from evidence_store.timestamping import TSA_OUTBOX, StampDelivery, Stamper
from tests.support.evidence import MEDIA, METADATA, DataDir, new_data_dir
from tests.support.tsa import TsaAuthority, TsaServer, tsa_client


def seal_times(data: DataDir, media: list[Path], stamper: Stamper | None) -> list[float]:
    """Seconds each segment's seal took, in one session of ``len(media)`` segments."""
    writer = SessionWriter.start(
        data.store(),
        data.signer(),
        METADATA,
        MEDIA,
        on_head=stamper.on_head if stamper else None,
    )
    times = []
    for index, source in enumerate(media):
        shutil.copyfile(source, writer.inflight_path(index))
        began = time.perf_counter()
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
        times.append(time.perf_counter() - began)
    writer.stop("benchmark")
    return times


MODES: list[tuple[str, float | None]] = [
    ("off", None),
    ("on (a head per 300 s)", 300.0),
    ("on (every head: worst case)", 0.0),
]


def stamped_seal_times(
    data: DataDir, media: list[Path], server: TsaServer, interval: float
) -> list[float]:
    """``seal_times`` with the stamper's hook and a sender thread, as a recorder runs them;
    then everything queued is sent, and must have been."""
    outbox = Outbox(data.root / "outbox", TSA_OUTBOX)
    delivery = StampDelivery(data.store(), tsa_client(server))
    sender = OutboxSender([Route(outbox, delivery, backoff=Backoff(0.05, 0.5))])
    stamper = Stamper(outbox, interval_seconds=interval, wake=sender.wake)
    sender.start()
    try:
        times = seal_times(data, media, stamper)
    finally:
        sender.stop()
    finisher = OutboxSender([Route(outbox, delivery)])  # what is still queued
    while finisher.drain_once():
        pass
    if outbox.backlog().items:
        raise SystemExit("stamps were left undelivered")
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=200)
    parser.add_argument("--segment-mib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seal-latency-") as scratch:
        base = Path(scratch)
        media_dir = base / "media"
        media_dir.mkdir()
        size = int(args.segment_mib * 1024 * 1024)
        media = []
        for index in range(args.segments):
            path = media_dir / f"{index:06d}.mp4"
            path.write_bytes(os.urandom(size))
            media.append(path)
        server = TsaServer(TsaAuthority.create(base / "tsa"))
        server.start()
        times: dict[str, list[float]] = {label: [] for label, _ in MODES}
        stamps = dict.fromkeys(times, 0)
        try:
            for round_number in range(args.rounds):
                for label, interval in MODES:  # alternating, so load drifts hit every mode
                    data = new_data_dir(base / f"{round_number}-{label.split()[0]}-{interval}")
                    if interval is None:
                        times[label] += seal_times(data, media, None)
                        continue
                    times[label] += stamped_seal_times(data, media, server, interval)
                    stamps[label] += len(list(data.evidence.glob("sessions/*/**/*.tsr")))
        finally:
            server.stop()
    off = times[MODES[0][0]]
    print(f"segments sealed per mode: {len(off)} ({args.segment_mib:g} MiB each)")
    for label, values in times.items():
        received = f"   tokens received: {stamps[label]}" if stamps[label] else ""
        print(
            f"seal latency {label:<28} p50 {statistics.median(values) * 1000:7.2f} ms   "
            f"p99 {percentile(values, 0.99) * 1000:7.2f} ms{received}"
        )
    for label, values in list(times.items())[1:]:
        print(
            f"ratio {label} / off: p50 {statistics.median(values) / statistics.median(off):.2f}"
            f"   p99 {percentile(values, 0.99) / percentile(off, 0.99):.2f}"
        )


if __name__ == "__main__":
    main()
