"""The presenter on one console replica, the audience screen on another: how long a change
takes to reach the screen, with PostgreSQL LISTEN/NOTIFY against polling, in one run.

    python -m benchmarks.replica_presentation [--changes 40]

Starts a private PostgreSQL and three console processes on it (waitress, as
`sealroom console`): A, where the presenter sends commands; B, whose streams are woken by
notifications; C, the same with ``[console] database_notifications = false`` (polling every
second, the baseline). The audience screens on B and C follow one hearing; each change is
timed from the moment the command is sent to A to the moment each screen received it.
Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.browser import free_port
from tests.support.console import build_console
from tests.support.postgres import PostgresServer
from tests.support.s3 import config_file
from tests.support.site.client import EventStream, WebUser
from tests.support.site.topology import ConsoleReplica, clean_environment


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def replica(root: Path, name: str, env: dict[str, str], *, notifications: bool) -> ConsoleReplica:
    folder = root / name
    folder.mkdir(parents=True)
    flag = "true" if notifications else "false"
    config = config_file(
        folder / "sealroom.toml", extra=f"[console]\ndatabase_notifications = {flag}\n"
    )
    console = ConsoleReplica(name, free_port(), folder / "data", config, env)
    console.start()
    return console


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sealroom-bench-replicas-"))
    postgres = PostgresServer()
    postgres.start()
    consoles: list[ConsoleReplica] = []
    try:
        build_console(root / "setup", database_url=postgres.url)  # units, users, in PG
        env = {
            **clean_environment(),
            "SEALROOM_DATABASE_URL": postgres.url,
            "SEALROOM_SECRET_KEY": secrets.token_urlsafe(48),
        }
        presenter_side = replica(root, "a", env, notifications=True)
        listening = replica(root, "b-listen", env, notifications=True)
        polling = replica(root, "c-poll", env, notifications=False)
        consoles = [presenter_side, listening, polling]
        clerk = WebUser(None)  # plain http to the replicas
        clerk.log_in(presenter_side.url, "court-clerk")
        page = f"{presenter_side.url}/hearings/"
        _, landed, _ = clerk.request(
            page,
            {
                "case_number": "VKS-BENCH/2026",
                "court": "TAND",
                "hearing_date": "2026-12-07",
                "csrf_token": clerk.csrf(page),
            },
        )
        hearing = int(landed.rstrip("/").split("/")[-1])
        path = f"/hearings/{hearing}/events"
        screens = {
            "LISTEN/NOTIFY": EventStream(clerk, listening.url + path),
            "polling (1 s)": EventStream(clerk, polling.url + path),
        }
        for screen in screens.values():
            screen.next_matching(lambda e: True)  # the state as it is
        token = clerk.csrf(page)
        delays: dict[str, list[float]] = {name: [] for name in screens}
        blank = False
        for _ in range(args.changes):
            time.sleep(random.uniform(0.2, 1.2))  # changes land anywhere in a poll period
            blank = not blank
            action = "blank" if blank else "unblank"
            sent = time.perf_counter()
            clerk.request(
                f"{presenter_side.url}/hearings/{hearing}/present/{action}",
                json_body={},
                headers={"X-CSRFToken": token},
            )
            for name, screen in screens.items():
                wanted = blank
                event = screen.next_matching(lambda e, w=wanted: e["state"]["blank"] is w)
                delays[name].append(event["received"] - sent)
        for screen in screens.values():
            screen.close()
        print(f"presenter on replica A -> audience on replica B, {args.changes} changes")
        print(f"{'':16} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
        for name, values in delays.items():
            print(
                f"{name:16} {1000 * statistics.median(values):8.1f} "
                f"{1000 * percentile(values, 0.99):8.1f} {1000 * statistics.fmean(values):8.1f}"
            )
        listen = statistics.median(delays["LISTEN/NOTIFY"])
        poll = statistics.median(delays["polling (1 s)"])
        print(f"ratio p50 polling / LISTEN: {poll / max(listen, 1e-6):.1f}x")
    finally:
        for console in consoles:
            console.stop()
        postgres.remove()


if __name__ == "__main__":
    main()
