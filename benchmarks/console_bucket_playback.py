"""Playback of a released session: the console streaming segments from the bucket.

    python -m benchmarks.console_bucket_playback [--users 20] [--rounds 4] [--segment-mib 1]

Records a session, lets the uploader put it in a real S3 server (SeaweedFS ``weed mini``, or
the MinIO named by ``SEALROOM_TEST_S3_*``) and release the spool copy, then serves the console
with waitress on 127.0.0.1. Simulated users fetch a segment whole and in 256 KiB ranges, as a
player seeking does. The baseline, measured in the same run, is the same users fetching the
same object straight from the bucket with the S3 client. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.console_load import User
from evidence_store import layout
from evidence_store.model import SessionMetadata
from evidence_store.upload.uploader import open_uploader
from tests.support.console import PASSWORD
from tests.support.s3 import (
    ACCESS_KEY,
    SECRET_KEY,
    S3Target,
    SeaweedServer,
    data_dir,
    external_target,
    new_bucket,
    write_session,
)
from web.app import create_app
from web.auth.accounts import create_unit, create_user
from web.settings import ConsoleSettings

RANGE = 256 * 1024
METADATA = SessionMetadata(
    case_number="VKS-BENCH/2026",
    room="Phòng 1",
    unit="hanoi",
    accused=["Nguyễn Văn A"],
    investigators=["Trần Thị B"],
)


def timed(users: int, fetch: Callable[[int], int]) -> float:
    """MB/s over wall-clock time with ``users`` fetching at once."""
    begin = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        total = sum(pool.map(fetch, range(users)))
    return total / (time.perf_counter() - begin) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--segment-mib", type=float, default=1.0)
    args = parser.parse_args()
    from waitress.server import create_server

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = external_target()
        server = None
        if target is None:
            server = SeaweedServer(root / "seaweedfs")
            server.start()
            target = S3Target(server.endpoint, ACCESS_KEY, SECRET_KEY, False, server)
        try:
            run(args, root, target, create_server)
        finally:
            if server is not None:
                server.kill()


def run(args: argparse.Namespace, root: Path, target: S3Target, create_server: object) -> None:
    bucket = new_bucket(target)
    data = data_dir(root / "data", keep_days=0)
    size = int(args.segment_mib * (1 << 20))
    session_id = write_session(
        data,
        [os.urandom(size) for _ in range(3)],
        metadata=METADATA,
    )
    app = create_app(data, ConsoleSettings(secure_cookies=False), environ=target.env(bucket))
    with app.app_context():
        create_unit("hanoi", parent="supreme")
        create_user("prosecutor", role="prosecutor", unit="hanoi", password=PASSWORD)
    server = create_server(app, host="127.0.0.1", port=0, threads=16)  # type: ignore[operator]
    base = f"http://127.0.0.1:{server.effective_port}"
    threading.Thread(target=server.run, daemon=True).start()
    key = layout.session_prefix(session_id) + layout.segment_path(1)
    url = f"/sessions/{session_id}/segments/1.mp4"
    try:
        users = [User(base) for _ in range(args.users)]
        with ThreadPoolExecutor(args.users) as pool:
            list(pool.map(lambda u: u.login("prosecutor"), users))
        clients = [target.client() for _ in range(args.users)]

        def console_whole(i: int) -> int:
            return users[i].get(url)[1]

        def console_ranges(i: int) -> int:
            total = 0
            for start in range(0, size, RANGE):
                request = urllib.request.Request(
                    base + url, headers={"Range": f"bytes={start}-{start + RANGE - 1}"}
                )
                with users[i].opener.open(request) as response:
                    total += len(response.read())
            return total

        def direct_whole(i: int) -> int:
            response = clients[i].get_object(bucket, key)
            try:
                return len(response.read())
            finally:
                response.close()
                response.release_conn()

        def direct_ranges(i: int) -> int:
            total = 0
            for start in range(0, size, RANGE):
                response = clients[i].get_object(bucket, key, offset=start, length=RANGE)
                try:
                    total += len(response.read())
                finally:
                    response.close()
                    response.release_conn()
            return total

        console_whole(0)  # the first playback writes a custody event; measure steady state
        figures: dict[str, list[float]] = {}

        def measure(name: str, fetch: Callable[[int], int]) -> None:
            figures[name] = [timed(args.users, fetch) for _ in range(args.rounds)]

        measure("local whole", console_whole)  # the same console, the spool copy still there
        measure("local ranges", console_ranges)
        open_uploader(data, environ=target.env(bucket)).run(
            threading.Event(), drain=True, timeout=300
        )
        assert not (data.evidence / layout.session_prefix(session_id)).exists(), "not released"
        measure("bucket whole", console_whole)
        measure("bucket ranges", console_ranges)
        measure("direct whole", direct_whole)
        measure("direct ranges", direct_ranges)
    finally:
        server.close()
    best = {name: max(values) for name, values in figures.items()}
    print(f"{args.users} users, {args.segment_mib} MiB segment, best of {args.rounds} rounds, MB/s")
    print(f"{'':15} {'console, local':>15} {'console, bucket':>16} {'bucket direct':>14}")
    for kind in ("whole", "ranges"):
        local, bucket_rate, direct = (best[f"{w} {kind}"] for w in ("local", "bucket", "direct"))
        label = "whole segment" if kind == "whole" else "256 KiB ranges"
        print(f"{label:15} {local:15.1f} {bucket_rate:16.1f} {direct:14.1f}")
        print(f"  ratio bucket/local through the console: {bucket_rate / local:.2f}; "
              f"console/direct from the bucket: {bucket_rate / direct:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
