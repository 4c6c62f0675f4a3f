"""A damaged custody database: events are journaled, never lost; ``repair_custody`` rebuilds
what it can, names the rows it cannot, and verification reports exactly those as lost.

The damage is done as it happens on disk: a zero-filled file, a file truncated to 0 bytes, a
deleted file, an old copy put back. Tampering is done with sqlite3 directly."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from evidence_store.custody import (
    LOST_ROWS,
    CustodyJournal,
    CustodyLog,
    RepairReport,
    repair_custody,
)
from evidence_store.errors import CustodyError
from tests.support.cli import RecordedSession, run_sealroom
from tests.support.evidence import DataDir, new_data_dir

SESSION = "s-20261122T235911Z-1a2b3c4d"


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return new_data_dir(tmp_path / "data")


def database(data: DataDir) -> Path:
    return data.root / "custody.db"


def journal(data: DataDir) -> CustodyJournal:
    return CustodyJournal(data.root / "custody-journal.jsonl")


def open_log(data: DataDir) -> CustodyLog:
    return CustodyLog.open(
        f"sqlite:///{database(data)}", data.store(), data.signer(), journal=journal(data)
    )


def append(log: CustodyLog, count: int, action: str = "viewed") -> None:
    for n in range(count):
        log.record(actor="Phạm Quỳnh Hương", role="investigator", action=action, detail={"n": n})


def repair(data: DataDir) -> RepairReport:
    return repair_custody(f"sqlite:///{database(data)}", data.store(), data.signer(), journal(data))


def zero_fill(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))


def test_a_zero_filled_database_journals_events_and_repair_names_the_lost_rows(
    data: DataDir,
) -> None:
    append(open_log(data), 4)
    zero_fill(database(data))

    damaged = open_log(data)
    assert damaged.damage is not None and "cannot be read" in damaged.damage
    assert damaged.record(actor="recorder:P1", role="recorder", action="record_started") is None
    assert [e.action for e in journal(data).events()] == ["record_started"]
    with pytest.raises(CustodyError, match="cannot be read"):
        damaged.verify()

    report = repair(data)
    assert report.lost == (1, 4) and report.kept_rows == 0 and report.replayed == 1
    assert not journal(data).path.exists()  # set aside, not deleted:
    assert list(data.root.glob("custody-journal.replayed-*.jsonl"))
    assert list(data.root.glob("custody.db.damaged-*"))

    log = open_log(data)
    assert log.damage is None
    verified = log.verify()
    assert verified.lost == ((1, 4),) and not verified.complete
    replayed = log.entries(action="record_started")
    assert len(replayed) == 1 and "journaled_at" in replayed[0].detail


def test_a_database_truncated_to_nothing_is_repaired_from_the_rows_it_lost(
    data: DataDir,
) -> None:
    """SQLite takes an empty file for a new database: appending to it would collide with the
    checkpoints of the rows it lost. The log opens damaged instead."""
    append(open_log(data), 3)
    database(data).write_bytes(b"")

    damaged = open_log(data)
    assert damaged.damage is not None and "truncated" in damaged.damage
    damaged.record(actor="uploader", role="system", action="upload", session_id=SESSION)

    report = repair(data)
    assert report.lost == (1, 3)
    log = open_log(data)
    assert log.verify().lost == ((1, 3),)
    assert [e.action for e in log.entries()] == [LOST_ROWS, "upload", "custody_repair"]


def test_an_old_copy_put_back_keeps_its_rows_and_names_the_newer_ones_as_lost(
    data: DataDir, tmp_path: Path
) -> None:
    log = open_log(data)
    append(log, 3)
    shutil.copyfile(database(data), tmp_path / "old.db")
    append(log, 2, action="exported")
    shutil.copyfile(tmp_path / "old.db", database(data))

    assert open_log(data).damage is not None
    report = repair(data)
    assert report.kept_rows == 3 and report.lost == (4, 5)
    verified = open_log(data).verify()
    assert verified.lost == ((4, 5),)
    assert [e.seq for e in open_log(data).entries()][:4] == [1, 2, 3, 6]


def test_a_missing_database_is_damage_and_repair_rebuilds_it(data: DataDir) -> None:
    append(open_log(data), 2)
    database(data).unlink()
    assert open_log(data).damage is not None
    assert repair(data).lost == (1, 2)
    assert open_log(data).verify().lost == ((1, 2),)


def test_a_sound_log_is_left_as_it_is_and_only_its_journal_is_replayed(data: DataDir) -> None:
    log = open_log(data)
    append(log, 2)
    journal(data).append(
        actor="recorder:P1",
        role="recorder",
        action="alarm",
        session_id=None,
        detail={"kind": "test"},
        ip=None,
        user_agent=None,
        because="the database was briefly unreachable",
    )
    report = repair(data)
    assert report.damage is None and report.lost is None and report.replayed == 1
    assert not list(data.root.glob("custody.db.damaged-*"))
    verified = open_log(data).verify()
    assert verified.complete and verified.rows == 4  # 2, the replayed alarm, the repair


def test_a_forged_lost_rows_row_that_does_not_continue_from_a_checkpoint_is_tampering(
    data: DataDir,
) -> None:
    """Someone with the database deletes rows and claims a repair lost them: the claim must
    continue from the signed checkpoint of the last row it names, and this one cannot."""
    append(open_log(data), 4)
    with closing(sqlite3.connect(database(data), isolation_level=None)) as connection:
        last = connection.execute("SELECT * FROM custody_events WHERE seq = 4").fetchone()
        connection.execute("DELETE FROM custody_events WHERE seq >= 2")
        columns = (
            "seq, at, actor, role, action, session_id, detail, ip, user_agent, prev_hash, hash"
        )
        connection.execute(
            f"INSERT INTO custody_events ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                5,
                last[1],
                "x",
                "system",
                LOST_ROWS,
                None,
                json.dumps({"lost": [2, 4]}),
                None,
                None,
                "0" * 64,
                "f" * 64,
            ),
        )
    log = CustodyLog.open(f"sqlite:///{database(data)}", data.store(), data.signer())
    with pytest.raises(CustodyError, match="does not continue from the checkpoint"):
        log.verify()


def test_custody_repair_on_the_command_line_says_what_it_cannot_rebuild(
    recorded_copy: Path,
) -> None:
    zero_fill(recorded_copy / "custody.db")
    broken = run_sealroom("custody", "verify", data_dir=recorded_copy)
    assert broken.returncode == 1 and "cannot be read" in broken.stdout

    repaired = run_sealroom("custody", "repair", data_dir=recorded_copy)
    assert repaired.returncode == 1, repaired.stderr  # rows were lost: not a clean repair
    assert "CANNOT REBUILD rows 1–" in repaired.stdout
    assert "damaged database is kept at" in repaired.stdout

    verified = run_sealroom("custody", "verify", "--json", data_dir=recorded_copy)
    assert verified.returncode == 1
    report = json.loads(verified.stdout)
    assert report["intact"] is False and report["lost"][0][0] == 1

    again = run_sealroom("custody", "repair", data_dir=recorded_copy)
    assert again.returncode == 0 and "nothing to repair" in again.stdout


@pytest.fixture
def recorded_copy(recorded_session: RecordedSession, tmp_path: Path) -> Path:
    source = recorded_session.data_dir
    copy = tmp_path / "data"
    shutil.copytree(source, copy)
    return copy
