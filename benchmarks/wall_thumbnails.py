"""What the wall's live pictures cost the console and the room's recorder.

    python -m benchmarks.wall_thumbnails [--supervisors 20] [--seconds 10] [--every 3]

Starts a real recorder service (synthetic camera, recording) and a console under waitress
on 127.0.0.1. Each simulated supervisor asks for the room's picture every ``--every``
seconds, as the wall's page does, for ``--seconds``. Measured twice in the same run: with
the console's cache (``web.wall.thumbnails``: a room's recorder is asked at most once a
second) and, as the baseline, with no cache (every request asks the recorder and scales its
picture). Prints the requests served, how often the recorder was asked, the picture's
latency p50/p99 and the ratios; never asserts.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.console_load import User
from tests.support.console import build_console
from tests.support.recorder_service import serve, wait_for
from web.recorders import room_token
from web.settings import ConsoleSettings
from web.wall.thumbnails import ThumbnailCache
from web.wall.views import CACHE_KEY


def watch(base: str, supervisors: int, seconds: float, every: float) -> list[float]:
    """Each supervisor asks for the picture every ``every`` seconds: the latencies."""
    users = []
    for _ in range(supervisors):
        user = User(base)
        user.login("supervisor")
        users.append(user)
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def one(index: int) -> None:
        time.sleep(every * index / supervisors)  # spread, as pages opened at different times
        while time.monotonic() < deadline:
            took, _size = users[index].get("/rooms/wall/room1/preview.jpg")
            with lock:
                latencies.append(took)
            time.sleep(every)

    with ThreadPoolExecutor(max_workers=supervisors) as pool:
        list(pool.map(one, range(supervisors)))
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--supervisors", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=3.0)
    args = parser.parse_args()
    from waitress.server import create_server

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = secrets.token_urlsafe(48).encode()
        (root / "room-key").write_bytes(key)
        recorder = serve(root, root / "room-data", token=room_token(key, "room1"))
        try:
            recorder.client().start(case_number="VKS-BENCH/2026")
            wait_for(recorder, "segments_sealed")
            console = build_console(
                root / "console",
                recorder_url=recorder.url,
                settings=ConsoleSettings(room_key_file=root / "room-key"),
            )
            server = create_server(console.app, host="127.0.0.1", port=0, threads=16)
            threading.Thread(target=server.run, daemon=True).start()
            base = f"http://127.0.0.1:{server.effective_port}"
            results = {}
            for name, max_age in (("no cache (baseline)", 0.0), ("cache, 1 s", 1.0)):
                cache = ThumbnailCache(max_age=max_age)
                console.app.extensions[CACHE_KEY] = cache
                latencies = watch(base, args.supervisors, args.seconds, args.every)
                results[name] = (len(latencies), cache.fetches, latencies)
            server.close()
            recorder.client().stop("Kết thúc")
        finally:
            recorder.process.send_signal(signal.SIGTERM)
            recorder.process.wait(timeout=60)

    print(
        f"{args.supervisors} supervisors, a picture every {args.every:g} s each, "
        f"{args.seconds:g} s, one recording room"
    )
    for name, (requests, fetches, latencies) in results.items():
        print(
            f"  {name:20} {requests:5} pictures served, recorder asked {fetches:5} times "
            f"({fetches / args.seconds:.1f}/s); latency p50 "
            f"{statistics.median(latencies) * 1000:.1f} ms, p99 "
            f"{percentile(latencies, 0.99) * 1000:.1f} ms"
        )
    _, base_fetches, base_latencies = results["no cache (baseline)"]
    _, fetches, latencies = results["cache, 1 s"]
    print(
        f"  ratio cache/baseline: recorder asked {fetches / max(1, base_fetches):.2f}×, "
        f"latency p50 {statistics.median(latencies) / statistics.median(base_latencies):.2f}×"
    )


if __name__ == "__main__":
    main()
