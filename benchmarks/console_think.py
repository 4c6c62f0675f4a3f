"""The console under 50 users who think a second between pages: p50/p99 per page, and the
most pages per second the console serves on this machine.

    python -m benchmarks.console_think [--users 50] [--seconds 30] [--sessions 50000]

The console runs as `sealroom console` in a process of its own (waitress, as deployed), on
an installation with two recorded sessions and a catalog of ``--sessions`` synthetic rows.
Each simulated user (a thread with its own login) loops: the list, a search typed without
marks, a session page, then thinks for a second. Then the think time is dropped and every
user asks as fast as it can for ``--seconds``/3 seconds: the pages served per second is the
console's maximum here. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine

from benchmarks.console_load import User, percentile
from benchmarks.synthetic_catalog import fill
from tests.support.browser import free_port, wait_for
from tests.support.console import build_console

PAGES = {
    "list": lambda _: "/sessions/",
    "search": lambda _: "/sessions/?accused=nguyen+van+a",
    "session": lambda session_id: f"/sessions/{session_id}",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--think", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        console = build_console(Path(tmp) / "data")
        fill(create_engine(console.data.index_url()), 0, args.sessions)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
        config = Path(tmp) / "sealroom.toml"
        config.write_text("[console]\nsecure_cookies = false\nrun_jobs = false\n")
        server = subprocess.Popen(
            [sys.executable, "-m", "sealroom", "--config", str(config), "console",
             "--port", str(port), "--data-dir", str(console.data.root)],
            env=env, stdout=subprocess.DEVNULL, stderr=(Path(tmp) / "console.log").open("wb"),
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            try:
                wait_for(f"{base}/login", timeout=180)
            except TimeoutError:
                sys.exit((Path(tmp) / "console.log").read_text(errors="replace")[-3000:])
            users = [User(base) for _ in range(args.users)]
            with ThreadPoolExecutor(args.users) as pool:
                list(pool.map(lambda u: u.login("prosecutor"), users))
            timings: dict[str, list[float]] = {name: [] for name in PAGES}
            served = [0]
            lock = threading.Lock()

            def browse(user: User, until: float, think: float) -> None:
                while time.monotonic() < until:
                    for name, path in PAGES.items():
                        seconds, _ = user.get(path(console.own_session))
                        with lock:
                            timings[name].append(seconds)
                            served[0] += 1
                        if think:
                            time.sleep(think)

            until = time.monotonic() + args.seconds
            with ThreadPoolExecutor(args.users) as pool:
                list(pool.map(lambda u: browse(u, until, args.think), users))
            for name, values in timings.items():
                print(
                    f"{name:8} p50 {percentile(values, 0.5) * 1e3:7.1f} ms   "
                    f"p99 {percentile(values, 0.99) * 1e3:7.1f} ms   ({len(values)} pages, "
                    f"{args.users} users, {args.think:g} s think time, "
                    f"{args.sessions:,} sessions in the catalog)"
                )
            served[0] = 0
            flat_out = args.seconds / 3
            began = time.monotonic()
            with ThreadPoolExecutor(args.users) as pool:
                list(pool.map(lambda u: browse(u, began + flat_out, 0.0), users))
            rate = served[0] / (time.monotonic() - began)
            print(f"maximum: {rate:.1f} pages/s with no think time ({os.cpu_count()} cores)")
        except Exception:
            sys.stderr.write((Path(tmp) / "console.log").read_text(errors="replace")[-4000:])
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
