"""The custody page as the log grows: p50/p99 at 1,000 and 100,000 rows, measured in one run,
with the ratio between them.

    python -m benchmarks.custody_page [--sizes 1000,100000] [--requests 40]

The console is served by waitress on 127.0.0.1 (as `sealroom console` serves it) and read by
a province's auditor (who sees the events of two of the four units the rows are filed under)
with a real HTTP client, one request at a time. Each request is one of: the newest page, a
page filtered by action, by session, by user and date, and a page deep in the log (older than
its middle row). Each view appends its own custody event with its checkpoint, as it does in
use. The rows between sizes are written straight into the custody database with their hash
chain (appending 100,000 rows through the log would write 100,000 checkpoints); the page never
verifies the whole log, so their missing checkpoints do not change what is measured. The
issue measured 1.63 s at 931 rows when each view verified every row. Never asserts.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.console_load import User, percentile
from evidence_store.canonical import canonical_json
from evidence_store.custody.log import ROW_FORMAT, entry_hash
from evidence_store.timefmt import format_utc, utc_now
from tests.support.console import build_console

ACTIONS = ("view", "playback", "bookmark_added", "login", "list_sessions", "export_download")
UNITS = ("hanoi", "hanoi-bd", "danang", "supreme")  # the auditor of hanoi sees the first two
ACTORS = ("prosecutor", "court-clerk", "investigator", "supervisor", "investigator-danang")


def fill(database: Path, up_to: int, own_session: str) -> None:
    """Synthetic rows until the log holds ``up_to``, each chained to the one before."""
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        last = connection.execute(
            text("SELECT seq, hash FROM custody_events ORDER BY seq DESC LIMIT 1")
        ).one()
        seq, prev = int(last.seq), str(last.hash)
        rows = []
        while seq < up_to:
            seq += 1
            unit = UNITS[seq % len(UNITS)]
            fields = {
                "v": ROW_FORMAT,
                "seq": seq,
                "at": format_utc(utc_now()),
                "actor": ACTORS[seq % len(ACTORS)],
                "role": "prosecutor",
                "action": ACTIONS[seq % len(ACTIONS)],
                "session_id": own_session if unit == "hanoi-bd" else None,
                "detail": {"n": seq, "filed_under": unit},
                "ip": "10.0.0.7",
                "user_agent": "Bench/1.0",
                "prev_hash": prev,
            }
            prev = entry_hash(**fields)  # type: ignore[arg-type]
            rows.append(
                {**fields, "detail": canonical_json(fields["detail"]).decode(), "hash": prev}
            )
        if rows:
            connection.execute(
                text(
                    "INSERT INTO custody_events (v, seq, at, actor, role, action, session_id, "
                    "detail, ip, user_agent, prev_hash, hash) VALUES (:v, :seq, :at, :actor, "
                    ":role, :action, :session_id, :detail, :ip, :user_agent, :prev_hash, :hash)"
                ),
                rows,
            )
    engine.dispose()


def measure(user: User, paths: list[str], count: int) -> list[float]:
    for path in paths:  # warm: templates compiled, connections pooled
        user.get(path)
    return [user.get(paths[n % len(paths)])[0] for n in range(count)]


def run(sizes: list[int], requests: int) -> dict[int, tuple[float, float]]:
    from waitress.server import create_server

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        console = build_console(Path(tmp) / "data")
        server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        try:
            user = User(f"http://127.0.0.1:{server.effective_port}")  # type: ignore[union-attr]
            user.login("auditor")
            for size in sizes:
                fill(console.data.root / "custody.db", size, console.own_session)
                paths = [
                    "/custody/",
                    "/custody/?action=playback",
                    f"/custody/?session={console.own_session}",
                    "/custody/?actor=court-clerk&since=2020-01-01",
                    f"/custody/?before={size // 2}",
                ]
                times = measure(user, paths, requests)
                figures[size] = (percentile(times, 0.5), percentile(times, 0.99))
                print(
                    f"{size:>7,} rows  p50 {figures[size][0] * 1e3:7.1f} ms"
                    f"  p99 {figures[size][1] * 1e3:7.1f} ms",
                    flush=True,
                )
                for n, path in enumerate(paths):  # which page costs what
                    each = times[n :: len(paths)]
                    print(f"          p50 {percentile(each, 0.5) * 1e3:7.1f} ms  {path}")
        finally:
            server.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    figures = run(sizes, args.requests)
    first, last = figures[sizes[0]], figures[sizes[-1]]
    print(
        f"p50 at {sizes[-1]:,} / p50 at {sizes[0]:,}: {last[0] / first[0]:.2f}x; "
        f"p99: {last[1] / first[1]:.2f}x (the issue: 1.63 s at 931 rows)"
    )


if __name__ == "__main__":
    main()
