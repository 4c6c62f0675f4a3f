"""Load on the console: 50 simulated users browsing and playing, through a real HTTP server.

    python -m benchmarks.console_load [--users 50] [--rounds 4]

Starts the console with waitress on 127.0.0.1 (the same server `sealroom console` uses),
logs each simulated user in, and has them list sessions, open a session page and download
its segments. Reports p50/p99 latency of the list and session pages, and the video throughput
in MB/s against the same bytes served as a static file by the same server in the same run.
Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import shutil
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.console import PASSWORD, build_console


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class User:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[float, int]:
        start = time.perf_counter()
        with self.opener.open(self.base + path) as response:
            size = len(response.read())
        return time.perf_counter() - start, size

    def login(self, username: str) -> None:
        with self.opener.open(self.base + "/login") as response:
            page = response.read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token is not None
        form = urllib.parse.urlencode(
            {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
        ).encode()
        self.opener.open(self.base + "/login", data=form).read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--segment-mib", type=float, default=1.0)
    args = parser.parse_args()
    from waitress.server import create_server

    with tempfile.TemporaryDirectory() as tmp:
        segment = bytes(int(args.segment_mib * (1 << 20)))
        console = build_console(Path(tmp) / "data", segment=segment)
        static_copy = Path(console.app.static_folder or "") / "bench-segment.bin"
        shutil.copyfile(
            console.data.store().path(f"sessions/{console.own_session}/segments/000000.mp4"),
            static_copy,
        )
        server = create_server(console.app, host="127.0.0.1", port=0, threads=16)
        base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            users = [User(base) for _ in range(args.users)]
            with ThreadPoolExecutor(args.users) as pool:
                list(pool.map(lambda u: u.login("prosecutor"), users))
            pages: dict[str, list[float]] = {"list": [], "session": []}
            video_bytes = static_bytes = 0
            video_time = static_time = 0.0

            segment_url = f"/sessions/{console.own_session}/segments/0.mp4"

            def browse(user: User) -> tuple[float, float]:
                listed, _ = user.get("/sessions/")
                shown, _ = user.get(f"/sessions/{console.own_session}")
                return listed, shown

            def timed_phase(path: str) -> tuple[float, int]:
                """All users fetch ``path`` at once; total bytes over wall-clock time."""
                begin = time.perf_counter()
                with ThreadPoolExecutor(args.users) as pool:
                    sizes = [size for _, size in pool.map(lambda u: u.get(path), users)]
                return time.perf_counter() - begin, sum(sizes)

            # Each user's first playback writes a custody event; that is measured with the
            # pages, and the throughput phases below measure steady-state streaming.
            with ThreadPoolExecutor(args.users) as pool:
                list(pool.map(lambda u: u.get(segment_url), users))
            for _ in range(args.rounds):
                with ThreadPoolExecutor(args.users) as pool:
                    for listed, shown in pool.map(browse, users):
                        pages["list"].append(listed)
                        pages["session"].append(shown)
                elapsed, size = timed_phase(segment_url)
                video_time, video_bytes = video_time + elapsed, video_bytes + size
                elapsed, size = timed_phase("/static/bench-segment.bin")
                static_time, static_bytes = static_time + elapsed, static_bytes + size
        finally:
            server.close()
            static_copy.unlink(missing_ok=True)
    for name, values in pages.items():
        print(
            f"{name:8} page: p50 {percentile(values, 0.5) * 1000:7.1f} ms   "
            f"p99 {percentile(values, 0.99) * 1000:7.1f} ms   ({len(values)} requests)"
        )
    video_rate = video_bytes / video_time / 1e6
    static_rate = static_bytes / static_time / 1e6
    print(f"video : {video_rate:8.1f} MB/s in all ({args.users} users fetching sealed segments)")
    print(f"static: {static_rate:8.1f} MB/s in all (the same bytes as a static file)")
    print(f"ratio video/static: {video_rate / static_rate:.2f}")
    overall = statistics.median(pages["list"] + pages["session"])
    print(f"median page latency overall: {overall * 1000:.1f} ms")


if __name__ == "__main__":
    main()
