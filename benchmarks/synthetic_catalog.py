"""Synthetic catalog rows, made fast (no recording): what the catalog benchmarks fill it with.

Sessions spread over 10 provinces of 3 districts each, one every ten minutes from 2020, with
Vietnamese names from small pools (so common words like "Nguyễn" match very many rows and a
case number matches one). Rows carry the same search keys the catalog writes
(``evidence_store.index.search_key``), through the same table, in batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from evidence_store.index import search_key
from evidence_store.index.schema import SessionRow
from evidence_store.timefmt import format_utc

PROVINCES = [f"p{n:02d}" for n in range(10)]
UNITS = [f"{p}-d{d}" for p in PROVINCES for d in range(3)] + PROVINCES
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Ngọc", "Hữu", "Thanh", "Quang"]
GIVEN = [
    "Ánh",
    "Bình",
    "Cường",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hùng",
    "Lan",
    "Long",
    "Mai",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
    "Đạt",
    "Khoa",
]
START = datetime(2020, 1, 1, tzinfo=UTC)
BATCH = 5000


def name(n: int) -> str:
    return f"{FAMILY[n % 10]} {MIDDLE[(n // 10) % 8]} {GIVEN[(n // 80) % len(GIVEN)]}"


def session_id(n: int) -> str:
    started = START + timedelta(minutes=10 * n)
    return f"s-{started:%Y%m%dT%H%M%S}Z-{n:08x}"


def row(n: int, now: str) -> dict[str, Any]:
    started = START + timedelta(minutes=10 * n)
    unit = UNITS[n % len(UNITS)]
    accused = [name(n * 7 + 3)]
    investigators = [name(n * 13 + 1), name(n * 17 + 5)]
    case = f"VKS-{unit.upper()}-{n}/{started.year}"
    room = f"Phòng hỏi cung {n % 7 + 1} {unit}"
    metadata = {
        "case_number": case,
        "room": room,
        "unit": unit,
        "accused": accused,
        "investigators": investigators,
        "others_present": [],
        "timezone": "Asia/Ho_Chi_Minh",
    }
    return {
        "session_id": session_id(n),
        "state": "sealed",
        "unit": unit,
        "room": room,
        "case_number": case,
        "accused": json.dumps(accused, ensure_ascii=False),
        "investigators": json.dumps(investigators, ensure_ascii=False),
        "case_key": search_key(case),
        "accused_key": "\n".join(search_key(a) for a in accused),
        "investigators_key": "\n".join(search_key(i) for i in investigators),
        "room_key": search_key(room),
        "session_metadata": json.dumps(metadata, ensure_ascii=False, sort_keys=True),
        "started_at": format_utc(started),
        "ended_at": format_utc(started + timedelta(hours=1)),
        "duration_us": 3_600_000_000,
        "segments": 1800,
        "media_bytes": 1_800_000_000,
        "head": f"{n:064x}",
        "links": 1802,
        "location": "bucket",
        "reported_by": f"room-{unit}",
        "indexed_at": now,
    }


def _ranges(start: int, stop: int) -> Iterator[range]:
    for first in range(start, stop, BATCH):
        yield range(first, min(stop, first + BATCH))


def fill(engine: Engine, start: int, stop: int) -> None:
    """Add rows ``start`` to ``stop`` (exclusive) to the catalog at ``engine``."""
    now = format_utc(datetime.now(UTC))
    for numbers in _ranges(start, stop):
        with engine.begin() as connection:
            connection.execute(insert(SessionRow), [row(n, now) for n in numbers])
    if engine.dialect.name == "postgresql":  # what autovacuum would have done by then
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE session_index")
