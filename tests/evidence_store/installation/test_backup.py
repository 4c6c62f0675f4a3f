"""``sealroom backup`` and ``sealroom restore``: an installation is destroyed and brought back
from its archive, and every session and the custody log verify again; a tampered archive, a
directory in use and an existing file are refused and change nothing."""

from __future__ import annotations

import io
import json
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from evidence_store.errors import UsageError
from evidence_store.installation import (
    BackupError,
    DataDir,
    database_urls,
    restore_backup,
    write_backup,
)
from evidence_store.settings import EvidenceSettings
from tests.support.cli import SMALL, RecordedSession, run_sealroom


@pytest.fixture(scope="module")
def installation(
    recorded_session: RecordedSession, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The shared recorded installation and one more session of another room."""
    data = tmp_path_factory.mktemp("backup") / "data"
    shutil.copytree(recorded_session.data_dir, data)
    second = run_sealroom(
        "record",
        "--synthetic",
        "--room",
        "R2",
        "--case",
        "C-2",
        "--duration",
        "1",
        *SMALL,
        data_dir=data,
    )
    assert second.returncode == 0, second.stderr
    return data


@pytest.fixture(scope="module")
def archive(installation: Path) -> Path:
    out = installation.parent / "sealroom-backup.tar.gz"
    made = run_sealroom("backup", "--out", str(out), "--evidence", "--json", data_dir=installation)
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    assert report["databases"]["custody"] == "sqlite" and report["evidence"] is True
    return out


def sessions(data_dir: Path) -> list[str]:
    listed = run_sealroom("sessions", "--json", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    return sorted(row["session_id"] for row in json.loads(listed.stdout))


def test_the_archive_and_the_key_in_it_are_private(archive: Path) -> None:
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        keys = [m for m in tar.getmembers() if m.name.startswith("keys/") and "key" in m.name]
        names = tar.getnames()
    assert keys and all(stat.S_IMODE(m.mode) == 0o600 for m in keys if m.name.endswith(".pem"))
    assert {"custody.db", "backup.json"} <= set(names)


@pytest.mark.slow
def test_a_destroyed_installation_comes_back_whole(installation: Path, archive: Path) -> None:
    before = sorted(p.name for p in (installation / "evidence" / "sessions").iterdir())
    assert len(before) == 2
    shutil.rmtree(installation)  # the disk is gone

    restored = run_sealroom("restore", str(archive), data_dir=installation)
    assert restored.returncode == 0, restored.stderr
    assert sessions(installation) == before
    for session_id in before:
        verified = run_sealroom("verify", session_id, data_dir=installation)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    custody = run_sealroom("custody", "verify", data_dir=installation)
    assert custody.returncode == 0, custody.stdout + custody.stderr
    log = run_sealroom("custody", "log", "--json", data_dir=installation)
    actions = [event["action"] for event in json.loads(log.stdout)]
    assert actions.index("backup") < actions.index("restore")  # the archive holds its event


def test_a_changed_archive_is_refused_and_nothing_is_written(archive: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(changed, "w:gz") as target:
        for member in source.getmembers():
            body = source.extractfile(member)
            data = body.read() if body else b""
            if member.name == "custody.db":
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, io.BytesIO(data))
    linked = tmp_path / "linked.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(linked, "w:gz") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member))
        link = tarfile.TarInfo("keys/elsewhere")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        target.addfile(link)
    into = tmp_path / "restored"
    with pytest.raises(BackupError, match=r"custody\.db does not match its digest"):
        restore_backup(changed, into, databases={})
    with pytest.raises(BackupError, match="keys/elsewhere is not a regular file"):
        restore_backup(linked, into, databases={})
    assert not into.exists() and sorted(tmp_path.iterdir()) == [changed, linked]


def test_restore_refuses_a_directory_in_use_and_backup_an_existing_file(
    archive: Path, installation: Path
) -> None:
    untouched = sorted(installation.rglob("*"))
    with pytest.raises(UsageError, match="is not empty"):
        restore_backup(archive, installation, databases={})
    assert sorted(installation.rglob("*")) == untouched
    data = DataDir.resolve(installation)
    custody = (installation / "custody.db").read_bytes()
    with pytest.raises(UsageError, match="never replaces a file"):
        write_backup(data, archive, databases=database_urls(data))
    assert (installation / "custody.db").read_bytes() == custody  # not even a custody event


def fresh_database(server_url: str, name: str) -> str:
    """A database of its own on the shared test server."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def test_a_postgresql_custody_log_goes_through_pg_dump_and_comes_back(
    postgres_url: str, tmp_path: Path
) -> None:
    source = fresh_database(postgres_url, "backup_source")
    target = fresh_database(postgres_url, "backup_target")
    data = DataDir.resolve(tmp_path / "data", EvidenceSettings(custody_database_url=source))
    log = data.custody(data.store(create=True), data.signer())
    for n in range(3):
        log.record(actor="kiểm tra", role="operator", action="note", detail={"n": n})
    archive = tmp_path / "pg.tar.gz"
    report = write_backup(data, archive, databases=database_urls(data))
    assert report.databases["custody"] == "postgresql"

    restored = restore_backup(archive, tmp_path / "restored", databases={"custody": target})
    assert restored.databases == {"custody": "postgresql"}
    back = DataDir.resolve(tmp_path / "restored", EvidenceSettings(custody_database_url=target))
    again = back.custody(back.store(), back.signer())
    assert [e.action for e in again.entries()] == ["note", "note", "note", "backup"]
    assert again.verify().complete

    # The target now holds the log: loading the dump into it again is refused, nothing moves.
    with pytest.raises(BackupError, match="must be empty"):
        restore_backup(archive, tmp_path / "twice", databases={"custody": target})
    assert not (tmp_path / "twice").exists()
