"""The catalog's own list and search at 1, 50,000 and 1,000,000 sessions: p50/p99 of
``SessionIndex.search``, on PostgreSQL (a site's central catalog) and SQLite.

    python -m benchmarks.catalog_scale [--sizes 1,50000,1000000] [--requests 60]
                                       [--databases postgresql,sqlite]

Measures what a console page asks of the catalog, without the page: a province prosecutor's
list (a tenth of the sessions are theirs), and searches as typed (a name without marks, a
case number's start, a room, a common family name with a date range), 25 rows a page. Rows
are synthetic (``benchmarks.synthetic_catalog``), added between sizes. Prints figures and the
ratio of each p50 to the p50 at the first size; never asserts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine

from benchmarks.catalog_pages import catalog_url
from benchmarks.console_load import percentile
from benchmarks.synthetic_catalog import fill
from evidence_store.index import SessionIndex, SessionSearch

UNITS = {"p03", "p03-d0", "p03-d1", "p03-d2"}
SEARCHES = [
    SessionSearch(units=UNITS, accused="nguyen van anh"),
    SessionSearch(units=UNITS, case_number="vks-p03-d1-4"),
    SessionSearch(units=UNITS, room="phong hoi cung 3"),
    SessionSearch(
        units=UNITS,
        accused="tran",
        date_from="2020-01-01",
        date_to="2020-06-30",
        timezone="Asia/Ho_Chi_Minh",
    ),
]


def timed(index: SessionIndex, searches: list[SessionSearch], count: int) -> list[float]:
    for search in searches:
        index.search(search, page=1, per_page=25)  # warm
    seconds = []
    for n in range(count):
        start = time.perf_counter()
        index.search(searches[n % len(searches)], page=1, per_page=25)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,50000,1000000")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--databases", default="postgresql,sqlite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmp, catalog_url(database, Path(tmp)) as url:
            index = SessionIndex.open(url)
            engine = create_engine(url)
            filled, first = 0, None
            for size in sizes:
                began = time.perf_counter()
                fill(engine, filled, size)
                filled = size
                built = time.perf_counter() - began
                listed = timed(index, [SessionSearch(units=UNITS)], args.requests)
                searched = timed(index, SEARCHES, args.requests)
                p50s = (percentile(listed, 0.5), percentile(searched, 0.5))
                first = first or p50s
                print(
                    f"{database:10} {size:>9,} sessions (filled in {built:5.0f} s)  list p50 "
                    f"{p50s[0] * 1e3:7.2f} ms p99 {percentile(listed, 0.99) * 1e3:7.2f} ms  "
                    f"search p50 {p50s[1] * 1e3:7.2f} ms p99 "
                    f"{percentile(searched, 0.99) * 1e3:7.2f} ms  "
                    f"(p50 x{p50s[0] / first[0]:.1f} / x{p50s[1] / first[1]:.1f} of the first)",
                    flush=True,
                )
            index.close()
            engine.dispose()


if __name__ == "__main__":
    main()
