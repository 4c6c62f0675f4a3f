"""The session list and search through the real console as the catalog grows: p50/p99 at 1,
1,000, 10,000 and 50,000 sessions, on SQLite and on PostgreSQL, measured in one run.

    python -m benchmarks.catalog_pages [--sizes 1,1000,10000,50000] [--requests 40]
                                       [--databases sqlite,postgresql]

The console is served by waitress on 127.0.0.1 (as `sealroom console` serves it) and read
by one prosecutor of a province (who sees a tenth of the sessions) with a real HTTP client,
one request at a time, as the issue measured it. The catalog is filled with synthetic rows
between sizes (``benchmarks.synthetic_catalog``). Each search is one of: an accused's name
typed without marks, a case number's start, a room, and a common name with a date range.
The goal: p50 at 50,000 within 2x of p50 at 1. Prints figures and ratios; never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine

from benchmarks.console_load import User, percentile
from benchmarks.synthetic_catalog import fill
from evidence_store.installation import DataDir
from evidence_store.settings import EvidenceSettings
from tests.support.postgres import private_postgres
from web.app import create_app
from web.auth import create_unit, create_user
from web.settings import ConsoleSettings

PASSWORD = "correct horse battery staple"
SEARCHES = [
    "/sessions/?accused=nguyen+van+anh",
    "/sessions/?case=vks-p03-d1-4",
    "/sessions/?room=phong+hoi+cung+3",
    "/sessions/?accused=tran&date_from=2020-01-01&date_to=2020-06-30",
]


@contextlib.contextmanager
def catalog_url(database: str, root: Path) -> Iterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{root / 'catalog.db'}"
    else:
        with private_postgres() as url:
            yield url


def measure(user: User, paths: list[str], count: int) -> list[float]:
    for path in paths:  # warm: templates compiled, connections pooled
        user.get(path)
    return [user.get(paths[n % len(paths)])[0] for n in range(count)]


def run(
    database: str, sizes: list[int], requests: int
) -> dict[int, tuple[float, float, float, float]]:
    from waitress.server import create_server

    figures = {}
    with tempfile.TemporaryDirectory() as tmp, catalog_url(database, Path(tmp)) as url:
        data = DataDir.resolve(Path(tmp) / "data", EvidenceSettings(session_index_url=url))
        app = create_app(data, ConsoleSettings(secure_cookies=False, run_jobs=False))
        with app.app_context():
            create_unit("p03", parent="supreme")
            for district in range(3):
                create_unit(f"p03-d{district}", parent="p03")
            create_user("kiemsat", role="prosecutor", unit="p03", password=PASSWORD)
        engine = create_engine(url)
        server = create_server(app, host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        try:
            user = User(f"http://127.0.0.1:{server.effective_port}")  # type: ignore[union-attr]
            user.login("kiemsat")
            filled = 0
            for size in sizes:
                fill(engine, filled, size)
                filled = size
                listed = measure(user, ["/sessions/"], requests)
                searched = measure(user, SEARCHES, requests)
                figures[size] = (
                    percentile(listed, 0.5),
                    percentile(listed, 0.99),
                    percentile(searched, 0.5),
                    percentile(searched, 0.99),
                )
                print(
                    f"{database:10} {size:>7,} sessions  list p50 {figures[size][0] * 1e3:6.1f} ms"
                    f" p99 {figures[size][1] * 1e3:6.1f} ms   search p50 "
                    f"{figures[size][2] * 1e3:6.1f} ms p99 {figures[size][3] * 1e3:6.1f} ms",
                    flush=True,
                )
        finally:
            server.close()
            engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,1000,10000,50000")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for database in args.databases.split(","):
        figures = run(database, sizes, args.requests)
        first, last = figures[sizes[0]], figures[sizes[-1]]
        print(
            f"{database:10} p50 at {sizes[-1]:,} / p50 at {sizes[0]:,}: "
            f"list {last[0] / first[0]:.2f}x, search {last[2] / first[2]:.2f}x (goal: <= 2x)"
        )


if __name__ == "__main__":
    main()
