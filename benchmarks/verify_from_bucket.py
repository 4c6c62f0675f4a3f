"""Verifying a session from the bucket alone, in MB/s, against raw GETs of the same objects.

    python -m benchmarks.verify_from_bucket [--segments 100] [--segment-mib 2] [--rounds 3]

Uploads one sealed session (random segments) with the uploader, then times, alternately and
best of N: (a) a plain streaming GET of every object of the session in 1 MiB reads, one
after another, no hashing; (b) ``verify_session`` over ``S3Store``, which lists the
versions, pins the first of each, and streams and hashes every object (segments on two
worker threads). Prints MB/s of both and the ratio. Never asserts.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.upload_throughput import s3_server
from evidence_store import layout
from evidence_store.bucket.store import S3Access, S3Store
from evidence_store.settings import S3Settings
from evidence_store.upload.uploader import open_uploader
from evidence_store.verify import verify_session
from tests.support.s3 import S3Target, data_dir, new_bucket, random_segments, write_session

MIB = 1 << 20


def raw_get(target: S3Target, bucket: str, keys: list[str]) -> float:
    client = target.client()
    start = time.perf_counter()
    for key in keys:
        response = client.get_object(bucket, key)
        try:
            while response.read(MIB):
                pass
        finally:
            response.close()
            response.release_conn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--segment-mib", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, s3_server(Path(tmp)) as target:
        data = data_dir(Path(tmp) / "data", part_size_mib=16)
        session_id = write_session(
            data, random_segments(args.segments, int(args.segment_mib * MIB))
        )
        bucket = new_bucket(target)
        open_uploader(data, environ=target.env(bucket)).run(threading.Event(), drain=True)
        access = S3Access.from_settings(S3Settings(), target.env(bucket))
        keys = S3Store.connect(access).list_keys(layout.session_prefix(session_id))
        total = sum(target.client().stat_object(bucket, k).size or 0 for k in keys)
        trust = data.trust()
        raw_get(target, bucket, keys)  # warm the server's caches for both
        best_raw = best_verify = float("inf")
        for _ in range(args.rounds):
            best_raw = min(best_raw, raw_get(target, bucket, keys))
            store = S3Store.connect(access)  # nothing cached between rounds
            start = time.perf_counter()
            verify_session(store, session_id, trust)
            best_verify = min(best_verify, time.perf_counter() - start)
    mb = total / 1e6
    raw_rate, verify_rate = mb / best_raw, mb / best_verify
    print(f"server           : {target.endpoint}")
    print(f"session          : {args.segments} segments, {len(keys)} objects, {mb:.0f} MB")
    print(f"raw GET          : {raw_rate:8.1f} MB/s  ({best_raw:.2f} s)")
    print(f"verify from S3   : {verify_rate:8.1f} MB/s  ({best_verify:.2f} s)")
    print(f"ratio            : {verify_rate / raw_rate:.3f}  verify / raw GET")


if __name__ == "__main__":
    main()
