"""How fast one room's backlog drains, as a multiple of real time.

    python -m benchmarks.backlog_drain [--minutes 60] [--segment-seconds 2] [--segment-mib 1]

Synthesizes the spool an outage leaves behind: one session of ``--minutes`` of recording in
``--segment-seconds`` segments of ``--segment-mib`` each (random bytes; the default, one
hour of 2 s segments at ~1 MB, is 1800 segments and 5,400 objects), sealed link by link by
the real ``SessionWriter``. Then the page cache is left as it is (the files were just
written; after a real outage they may be on disk, which only the read-ahead hides) and the
uploader drains it into a fresh bucket. Prints the drain time, the multiple of real time
(recorded seconds / drain seconds), and the ratio to a raw ``put_object`` loop over the
same files in the same run. Use ``--minutes 10`` for a quick run; the multiple does not
depend on the length, since the drain is linear in objects and bytes. Never asserts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.upload_throughput import raw_put_loop, s3_server, spool_objects
from evidence_store.model import MediaInfo
from evidence_store.session import SessionWriter
from evidence_store.upload.uploader import open_uploader
from tests.support.s3 import METADATA, data_dir, new_bucket

MIB = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--segment-seconds", type=int, default=2)
    parser.add_argument("--segment-mib", type=float, default=1.0)
    args = parser.parse_args()
    recorded_seconds = args.minutes * 60
    count = int(recorded_seconds // args.segment_seconds)
    size = int(args.segment_mib * MIB)
    with tempfile.TemporaryDirectory() as tmp, s3_server(Path(tmp)) as target:
        data = data_dir(Path(tmp) / "data", part_size_mib=16)
        media = MediaInfo(
            width=1280,
            height=720,
            fps=30,
            sample_rate=48000,
            channels=1,
            segment_seconds=args.segment_seconds,
        )
        started = time.perf_counter()
        writer = SessionWriter.start(data.store(), data.signer(), METADATA, media)
        step = args.segment_seconds * 1_000_000
        for index in range(count):
            writer.inflight_path(index).write_bytes(os.urandom(size))
            writer.seal_segment(index, start_us=index * step, duration_us=step)
        writer.stop("benchmark")
        sealed_in = time.perf_counter() - started
        objects = spool_objects(data)
        total = sum(o.size for o in objects)

        bucket = new_bucket(target)
        uploader = open_uploader(data, environ=target.env(bucket))
        started = time.perf_counter()
        backlog = uploader.run(threading.Event(), drain=True)
        drained_in = time.perf_counter() - started
        raw = raw_put_loop(target, new_bucket(target), objects)
    print(f"server           : {target.endpoint}")
    print(
        f"backlog          : {args.minutes:g} min of one room = {count} segments, "
        f"{len(objects)} objects, {total / 1e6:.0f} MB (sealed locally in {sealed_in:.1f} s)"
    )
    print(f"uploader drain   : {drained_in:8.1f} s  ({total / 1e6 / drained_in:.1f} MB/s)")
    print(f"real time        : {recorded_seconds / drained_in:8.1f} x  (recorded s / drain s)")
    print(f"raw put_object   : {raw:8.1f} s  ({total / 1e6 / raw:.1f} MB/s)")
    print(f"ratio            : {raw / drained_in:.3f}  uploader speed / raw put_object speed")
    print(f"left             : {backlog.objects} objects")


if __name__ == "__main__":
    main()
