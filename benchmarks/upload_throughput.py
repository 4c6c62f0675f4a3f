"""Uploader throughput against a raw ``put_object`` loop over the same bytes, same run.

    python -m benchmarks.upload_throughput [--segments 150] [--segment-mib 1] [--rounds 3]

Builds one sealed session of random segments (what the bytes encode does not matter to an
upload), then times, alternately and best of N, into fresh buckets on one S3 server:
(a) minio-py's ``put_object`` over every file the uploader would send, one after another,
with no checksum, no retention, no condition; (b) the same loop sending what the issue
requires of every write (``x-amz-checksum-sha256``, COMPLIANCE retention, ``If-None-Match``),
which separates the server's cost of those from the uploader's own; (c) ``sealroom``'s
uploader draining the spool (plan, sealed-digest check, the same requests, state file,
custody event). Prints MB/s of each and the ratios. Goal: (c)/(a) >= 0.9.

The server is a SeaweedFS ``weed mini`` on loopback (or $SEALROOM_TEST_S3_ENDPOINT).
Never asserts.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evidence_store.bucket.retention import RetentionPolicy
from evidence_store.bucket.wire import S3Wire, b64, lock_headers
from evidence_store.installation.data_dir import DataDir
from evidence_store.upload.spool import Spool, SpoolObject
from evidence_store.upload.uploader import open_uploader
from tests.support.s3 import (
    ACCESS_KEY,
    SECRET_KEY,
    S3Target,
    SeaweedServer,
    data_dir,
    external_target,
    new_bucket,
    random_segments,
    write_session,
)

MIB = 1 << 20


@contextmanager
def s3_server(root: Path) -> Iterator[S3Target]:
    """$SEALROOM_TEST_S3_ENDPOINT if set, else a SeaweedFS on loopback for the run."""
    external = external_target()
    if external is not None:
        yield external
        return
    server = SeaweedServer(root / "seaweedfs")
    server.start()
    try:
        yield S3Target(server.endpoint, ACCESS_KEY, SECRET_KEY, False, server)
    finally:
        server.kill()


def spool_objects(data: DataDir) -> list[SpoolObject]:
    """Every object the uploader sends for the data dir's sessions, in its order."""
    spool = Spool(
        data.store(),
        RetentionPolicy(data.settings.s3.retention),
        quarantine_root=data.root / "quarantine",
    )
    return [o for sid in spool.session_ids() for o in spool.plan(sid).objects]


def raw_put_loop(target: S3Target, bucket: str, objects: list[SpoolObject]) -> float:
    client = target.client()
    start = time.perf_counter()
    for item in objects:
        assert item.path is not None
        with item.path.open("rb") as handle:
            client.put_object(bucket, item.key, handle, item.size)
    return time.perf_counter() - start


def protocol_put_loop(target: S3Target, bucket: str, objects: list[SpoolObject]) -> float:
    """The same requests the uploader makes, with nothing around them."""
    wire = S3Wire(target.client(), bucket)
    start = time.perf_counter()
    for item in objects:
        assert item.path is not None
        data = item.path.read_bytes()
        headers = {
            "x-amz-checksum-sha256": b64(hashlib.sha256(data).digest()),
            "If-None-Match": "*",
            **lock_headers(item.retain_until, item.sha256),
        }
        wire.request("PUT", item.key, body=data, headers=headers)
    return time.perf_counter() - start


def uploader_drain(target: S3Target, bucket: str, data: DataDir) -> float:
    for leftover in (data.root / "uploader").glob("*.json"):
        leftover.unlink()  # a fresh start for each round
    uploader = open_uploader(data, environ=target.env(bucket))
    start = time.perf_counter()
    uploader.run(threading.Event(), drain=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=150)
    parser.add_argument("--segment-mib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, s3_server(Path(tmp)) as target:
        data = data_dir(Path(tmp) / "data", part_size_mib=16)
        write_session(data, random_segments(args.segments, int(args.segment_mib * MIB)))
        objects = spool_objects(data)
        total = sum(o.size for o in objects)
        raw_put_loop(target, new_bucket(target), objects)  # warm the page cache and server
        best_raw = best_protocol = best_uploader = float("inf")
        for _ in range(args.rounds):
            best_raw = min(best_raw, raw_put_loop(target, new_bucket(target), objects))
            best_protocol = min(
                best_protocol, protocol_put_loop(target, new_bucket(target), objects)
            )
            best_uploader = min(best_uploader, uploader_drain(target, new_bucket(target), data))
    mb = total / 1e6
    raw_rate, uploader_rate = mb / best_raw, mb / best_uploader
    protocol_rate = mb / best_protocol
    kind = "external" if target.server is None else "SeaweedFS weed mini, loopback"
    print(f"server           : {target.endpoint} ({kind})")
    print(f"spool            : {args.segments} segments, {len(objects)} objects, {mb:.0f} MB")
    print(f"raw put_object   : {raw_rate:8.1f} MB/s  ({best_raw:.2f} s)")
    print(
        f"same requests    : {protocol_rate:8.1f} MB/s  ({best_protocol:.2f} s)"
        "  checksum + lock + If-None-Match"
    )
    print(f"uploader         : {uploader_rate:8.1f} MB/s  ({best_uploader:.2f} s)")
    print(f"ratio            : {uploader_rate / raw_rate:.3f}  uploader / raw (goal >= 0.9)")
    print(f"ratio            : {uploader_rate / protocol_rate:.3f}  uploader / same requests")


if __name__ == "__main__":
    main()
