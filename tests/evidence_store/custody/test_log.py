"""The custody log: a hash chain of rows in SQLite, its head checkpointed into the store.

Tampering is done the way someone with the database file would do it: with sqlite3 directly.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from evidence_store.custody import CustodyLog
from evidence_store.custody.log import MIGRATIONS
from evidence_store.errors import CustodyError
from evidence_store.model import GENESIS_PREV
from tests.support.evidence import (
    DataDir,
    append_custody_events,
    custody_row_hash,
    new_data_dir,
)

SESSION = "s-20261122T235911Z-1a2b3c4d"
ROWS = 5


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return new_data_dir(tmp_path / "data")


@pytest.fixture
def database(data: DataDir) -> Path:
    return data.root / "custody.db"


def open_log(data: DataDir, database: Path) -> CustodyLog:
    return CustodyLog.open(f"sqlite:///{database}", data.store(), data.signer())


@pytest.fixture
def log(data: DataDir, database: Path) -> CustodyLog:
    log = open_log(data, database)
    actions = ["recorded", "sealed", "viewed", "exported", "verified"]
    for n, action in enumerate(actions[:ROWS]):
        log.record(
            actor="Lê Hoàng Phúc" if n % 2 else "Phạm Quỳnh Hương",
            role="investigator",
            action=action,
            session_id=SESSION,
            detail={"ghi_chú": f"lần {n}", "n": n},
            ip="10.0.0.7",
            user_agent="sealroom-web/1",
        )
    return log


@contextmanager
def raw(database: Path) -> Iterator[sqlite3.Connection]:
    """The attacker's connection: plain sqlite3, autocommitting each statement."""
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.row_factory = sqlite3.Row
        yield connection


def rows(database: Path) -> list[dict[str, Any]]:
    with raw(database) as connection:
        return [dict(r) for r in connection.execute("SELECT * FROM custody_events ORDER BY seq")]


def test_appends_form_a_hash_chain_matching_the_spec(log: CustodyLog, database: Path) -> None:
    stored = rows(database)
    assert [r["seq"] for r in stored] == list(range(1, ROWS + 1))
    prev = GENESIS_PREV
    for row in stored:
        assert row["prev_hash"] == prev
        assert row["hash"] == custody_row_hash(row, prev)  # section 10, computed independently
        prev = row["hash"]
    report = log.verify()
    assert (report.rows, report.head) == (ROWS, prev)
    assert (report.checkpoints, report.last_checkpoint_seq) == (ROWS, ROWS)
    assert [e.actor for e in log.entries(action="viewed")] == ["Phạm Quỳnh Hương"]


def test_a_rewritten_row_is_detected(log: CustodyLog, database: Path) -> None:
    with raw(database) as connection:
        connection.execute("UPDATE custody_events SET actor = 'Kẻ giả mạo' WHERE seq = 3")
    with pytest.raises(CustodyError, match=r"does not match its hash \(rewritten\)") as caught:
        log.verify()
    assert caught.value.location == "custody row 3"


def test_a_rewritten_row_with_every_hash_recomputed_is_caught_by_checkpoints(
    log: CustodyLog, database: Path
) -> None:
    stored = rows(database)
    stored[2]["action"] = "destroyed"
    prev = GENESIS_PREV
    with raw(database) as connection:
        for row in stored:
            row["prev_hash"], row["hash"] = prev, custody_row_hash(row, prev)
            connection.execute(
                "UPDATE custody_events SET action = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (row["action"], row["prev_hash"], row["hash"], row["seq"]),
            )
            prev = row["hash"]
    with pytest.raises(CustodyError, match="row 3 differs from its checkpoint") as caught:
        log.verify()
    assert caught.value.location == "custody/checkpoints/000000000003.json"


def test_a_deleted_middle_row_is_detected(log: CustodyLog, database: Path) -> None:
    with raw(database) as connection:
        connection.execute("DELETE FROM custody_events WHERE seq = 3")
    with pytest.raises(CustodyError, match=r"row 3 is missing \(deleted\)") as caught:
        log.verify()
    assert caught.value.location == "custody row 4"


def test_a_deleted_last_row_is_detected_as_a_rollback(log: CustodyLog, database: Path) -> None:
    with raw(database) as connection:
        connection.execute(f"DELETE FROM custody_events WHERE seq = {ROWS}")
    with pytest.raises(CustodyError, match=r"log ends at row 4.*rolled back") as caught:
        log.verify()
    assert caught.value.location == f"custody/checkpoints/{ROWS:012d}.json"


def test_an_edited_checkpoint_is_detected(log: CustodyLog, data: DataDir) -> None:
    checkpoint = data.evidence / "custody" / "checkpoints" / "000000000002.json"
    checkpoint.chmod(0o644)
    checkpoint.write_bytes(checkpoint.read_bytes().replace(b'"seq":2', b'"seq":3'))
    with pytest.raises(CustodyError, match="checkpoint is not authentic") as caught:
        log.verify()
    assert caught.value.location == "custody/checkpoints/000000000002.json"


def test_migrations_are_idempotent(data: DataDir, database: Path) -> None:
    first = open_log(data, database)
    first.record(actor="Lê Hoàng Phúc", role="investigator", action="recorded")
    second = open_log(data, database)  # migrates again: nothing to do, nothing lost
    second.record(actor="Lê Hoàng Phúc", role="investigator", action="sealed")
    assert [e.seq for e in open_log(data, database).entries()] == [1, 2]
    assert second.verify().rows == 2
    with raw(database) as connection:
        versions = connection.execute("SELECT version_num FROM custody_alembic_version").fetchall()
    assert [v[0] for v in versions] == ["0002"]


def test_two_processes_appending_at_once_make_one_gap_free_chain(
    data: DataDir, database: Path
) -> None:
    per_worker = 50
    url = f"sqlite:///{database}"
    open_log(data, database)  # created and migrated before the race starts
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(
            target=append_custody_events, args=(str(data.root), url, worker, per_worker, barrier)
        )
        for worker in (1, 2)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0]

    log = open_log(data, database)
    report = log.verify()
    assert report.rows == report.checkpoints == report.last_checkpoint_seq == 2 * per_worker
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, 2 * per_worker + 1))
    for worker in (1, 2):
        mine = [e.detail["n"] for e in entries if e.detail["worker"] == worker]
        assert mine == list(range(per_worker))


def test_a_forged_row_appended_after_the_last_checkpoint_is_refused(
    log: CustodyLog, database: Path
) -> None:
    # Hashes carry no secret: whoever can write the database can append a consistent row.
    # Every genuine append writes its checkpoint, so a row without one is not vouched for.
    last = rows(database)[-1]
    forged = {**last, "seq": ROWS + 1, "action": "destroyed", "detail": "{}"}
    forged["prev_hash"], forged["hash"] = last["hash"], custody_row_hash(forged, last["hash"])
    with raw(database) as connection:
        columns = ", ".join(forged)
        marks = ", ".join("?" for _ in forged)
        connection.execute(
            f"INSERT INTO custody_events ({columns}) VALUES ({marks})", tuple(forged.values())
        )
    with pytest.raises(CustodyError, match=f"rows {ROWS + 1} to {ROWS + 1} are anchored by no"):
        log.verify()


def test_every_append_is_anchored_before_it_returns(log: CustodyLog, data: DataDir) -> None:
    checkpoints = data.evidence / "custody" / "checkpoints"
    for seq in range(1, ROWS + 1):
        assert (checkpoints / f"{seq:012d}.json").is_file()
        assert (checkpoints / f"{seq:012d}.sig").is_file()
    entry = log.record(actor="Lê Hoàng Phúc", role="investigator", action="viewed")
    assert (checkpoints / f"{entry.seq:012d}.json").is_file()  # already there on return


def test_deleting_the_newest_checkpoint_is_detected(log: CustodyLog, data: DataDir) -> None:
    newest = data.evidence / "custody" / "checkpoints" / f"{ROWS:012d}"
    for suffix in (".json", ".sig"):
        newest.with_suffix(suffix).unlink()
    with pytest.raises(CustodyError, match=f"rows {ROWS} to {ROWS} are anchored by no") as caught:
        log.verify()
    assert caught.value.location == f"custody row {ROWS}"


def test_deleting_the_newest_rows_is_detected(log: CustodyLog, database: Path) -> None:
    with raw(database) as connection:
        connection.execute(f"DELETE FROM custody_events WHERE seq >= {ROWS - 1}")
    with pytest.raises(CustodyError, match=f"log ends at row {ROWS - 2}.*rolled back"):
        log.verify()


def test_rows_leave_absent_values_out_rather_than_null(
    data: DataDir, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows written before format 2 hashed an absent ip as "ip":null; they keep that format and
    # still verify. New rows leave absent values out, as every document of the format does.
    log = open_log(data, database)
    monkeypatch.setattr("evidence_store.custody.log.ROW_FORMAT", 1)
    log.record(actor="Lê Hoàng Phúc", role="investigator", action="recorded", session_id=SESSION)
    monkeypatch.undo()
    log.record(actor="Lê Hoàng Phúc", role="investigator", action="viewed", session_id=SESSION)
    old, new = rows(database)
    assert (old["v"], new["v"]) == (1, 2)
    assert old["ip"] is None and new["ip"] is None
    assert old["hash"] == custody_row_hash(old, GENESIS_PREV)
    assert new["hash"] == custody_row_hash(new, old["hash"])
    assert new["hash"] != custody_row_hash({**new, "v": 1}, old["hash"])  # no null hashed
    assert log.verify().rows == 2
    assert [e.v for e in log.entries()] == [1, 2]


def test_a_log_of_the_first_schema_is_upgraded_and_its_rows_keep_their_format(
    data: DataDir, database: Path
) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    first = {
        "seq": 1, "at": "2026-11-22T23:59:11.123456Z", "actor": "Lê Hoàng Phúc",
        "role": "investigator", "action": "recorded", "session_id": SESSION, "detail": "{}",
        "ip": None, "user_agent": None, "prev_hash": GENESIS_PREV, "v": 1,
    }  # fmt: skip
    first["hash"] = custody_row_hash(first, GENESIS_PREV)
    del first["v"]  # the first schema has no such column
    with raw(database) as connection:
        columns, marks = ", ".join(first), ", ".join("?" for _ in first)
        connection.execute(
            f"INSERT INTO custody_events ({columns}) VALUES ({marks})", tuple(first.values())
        )
    log = open_log(data, database)  # migrates to the newest schema
    log.record(actor="Lê Hoàng Phúc", role="investigator", action="sealed", session_id=SESSION)
    assert [row["v"] for row in rows(database)] == [1, 2]
    # The old row had no checkpoint of its own; the new row's checkpoint anchors it too.
    assert log.verify().rows == 2
