"""What checking every segment against its seal costs the review player.

    python -m benchmarks.checked_playback [--users 20] [--rounds 4] [--segments 8]
                                          [--segment-mib 1.5]

Serves a console with waitress on 127.0.0.1 and records one session of sealed segments.
Simulated users fetch them through the review player's URL, which reads each segment whole,
hashes it against its signed seal and only then sends it (``web.playback``). The baseline,
measured in the same run against the same files, is the review path as it was before the
check: the same login, visibility rule and custody event, then the file sent as it is on
disk. Three phases: first playback (nothing checked yet: every segment read and hashed),
playback of checked segments, and 256 KiB ranges of checked segments (a player seeking).
Prints figures and ratios; never asserts.
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

from flask import Flask, send_file, session
from werkzeug.wrappers import Response

from benchmarks.console_load import User
from evidence_store import layout
from tests.support.console import build_console
from tests.web.clips.test_clips import record_long_session
from web.access import allow
from web.audit import record
from web.evidence import evidence_store
from web.playback import CheckedSegments
from web.playback.checked import EXTENSION_KEY
from web.roles import EVIDENCE_READERS
from web.visibility import visible_session

RANGE = 256 * 1024


def add_unchecked_route(app: Flask) -> None:
    """The review player's segment route as it was: no check of the bytes against the seal."""

    @allow(*EVIDENCE_READERS)
    def unchecked(session_id: str, index: int) -> Response:
        visible_session(session_id)
        key = layout.session_prefix(session_id) + layout.segment_path(index)
        local = evidence_store().local_path(key)
        assert local is not None
        played = session.get("bench_played", [])
        if session_id not in played:  # once per session per login, as the route did
            record("playback", session_id=session_id, detail={"benchmark": "unchecked"})
            session["bench_played"] = [*played, session_id]
        return send_file(local, mimetype="video/mp4", conditional=True, max_age=0)

    app.add_url_rule("/bench/unchecked/<session_id>/<int:index>.mp4", "bench_unchecked", unchecked)


def rate(users: list[User], fetch: Callable[[User], int]) -> float:
    """MB/s over wall-clock time with every user fetching at once."""
    begin = time.perf_counter()
    with ThreadPoolExecutor(len(users)) as pool:
        total = sum(pool.map(fetch, users))
    return total / (time.perf_counter() - begin) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--segment-mib", type=float, default=1.5)
    args = parser.parse_args()
    from waitress.server import create_server

    with tempfile.TemporaryDirectory() as tmp:
        console = build_console(Path(tmp) / "data")
        size = int(args.segment_mib * (1 << 20))
        media = [os.urandom(size) for _ in range(args.segments)]
        session_id = record_long_session(console.data, "hanoi-bd", media)
        app = console.app
        add_unchecked_route(app)
        server = create_server(app, host="127.0.0.1", port=0, threads=16)
        base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
        threading.Thread(target=server.run, daemon=True).start()
        try:
            figures = measure(args, app, base, session_id, size)
        finally:
            server.close()
    report(args, figures)


def measure(
    args: argparse.Namespace, app: Flask, base: str, session_id: str, size: int
) -> dict[str, list[float]]:
    users = [User(base) for _ in range(args.users)]
    with ThreadPoolExecutor(args.users) as pool:
        list(pool.map(lambda u: u.login("prosecutor"), users))
    paths = {
        "checked": [f"/sessions/{session_id}/segments/{i}.mp4" for i in range(args.segments)],
        "unchecked": [f"/bench/unchecked/{session_id}/{i}.mp4" for i in range(args.segments)],
    }

    def whole(kind: str) -> Callable[[User], int]:
        return lambda user: sum(user.get(path)[1] for path in paths[kind])

    def ranges(kind: str) -> Callable[[User], int]:
        def fetch(user: User) -> int:
            total = 0
            for path in paths[kind]:
                for start in range(0, size, RANGE):
                    request = urllib.request.Request(
                        base + path, headers={"Range": f"bytes={start}-{start + RANGE - 1}"}
                    )
                    with user.opener.open(request) as response:
                        total += len(response.read())
            return total

        return fetch

    for kind in paths:  # each login's first playback writes a custody event: not measured
        rate(users, whole(kind))
    figures: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        app.extensions[EXTENSION_KEY] = CheckedSegments()  # nothing checked yet
        figures.setdefault("first checked", []).append(rate(users, whole("checked")))
        figures.setdefault("first unchecked", []).append(rate(users, whole("unchecked")))
        for kind in paths:
            figures.setdefault(f"whole {kind}", []).append(rate(users, whole(kind)))
            figures.setdefault(f"ranges {kind}", []).append(rate(users, ranges(kind)))
    return figures


def report(args: argparse.Namespace, figures: dict[str, list[float]]) -> None:
    best = {name: max(values) for name, values in figures.items()}
    print(
        f"{args.users} users, {args.segments} segments of {args.segment_mib} MiB, "
        f"best of {args.rounds} rounds, MB/s"
    )
    print(f"{'':34} {'checked':>9} {'unchecked':>10} {'ratio':>6}")
    for phase, label in (
        ("first", "first playback (read and hash)"),
        ("whole", "checked segments, whole"),
        ("ranges", "checked segments, 256 KiB ranges"),
    ):
        checked, unchecked = best[f"{phase} checked"], best[f"{phase} unchecked"]
        print(f"{label:34} {checked:9.1f} {unchecked:10.1f} {checked / unchecked:6.2f}")


if __name__ == "__main__":
    main()
