"""``sealroom backup`` and ``sealroom restore``: an installation in one archive, and back.

The archive (a gzipped tar, created 0600 and never over an existing file) holds what the
installation cannot get back from elsewhere:

- its databases, each a consistent copy: SQLite through its online backup API (the copy is
  what the database held at one instant, while recorders and consoles go on writing), a
  PostgreSQL database through ``pg_dump``;
- the device key (0600 in the archive too), its certificate and the trust roots; the
  installation's certificate authority (``ca/``, for TLS to the rooms) and its room key;
- the custody log's signed checkpoints (what the restored log is checked against), the
  journal of custody events waiting for a repair, and the outboxes (time-stamps, witness
  heads waiting to leave);
- the console's and the recorders' generated secrets, and the configuration file;
- with ``--evidence``, the sealed sessions themselves (an installation without a bucket);
  otherwise they are in the bucket, under Object Lock, and are read from there.

``backup.json`` at the archive's root lists every member with its SHA-256. The custody
event ``backup`` is recorded *before* the copies are taken, so the archive holds it, and the
checkpoints are copied before the database, so the copy of the log reaches every checkpoint
in the archive (rows after the last checkpoint are allowed; the reverse would be a rollback).

``restore`` refuses a directory that is not empty, checks every member against
``backup.json`` before anything is put in place, extracts with the tar "data" filter (no
absolute paths, no ``..``, no links out, no device files), loads PostgreSQL dumps with
``psql`` into the configured (empty) databases, and moves the installation into place in
one rename.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from evidence_store.durable import PRIVATE, fsync_directory
from evidence_store.errors import SealroomError, UsageError
from evidence_store.installation.data_dir import DataDir
from evidence_store.timefmt import format_utc, utc_now

MANIFEST = "backup.json"
VERSION = 1
# Kept whole: keys and trust, the custody log's anchors, what waits to leave the box.
FOLDERS = ("keys", "ca", "trust", "evidence/custody", "outbox")
# Files of the data directory kept as they are (generated secrets, the custody journal).
SECRETS = ("console-secret", "recorder-token", "room-key")
FILES = (*SECRETS, "custody-journal.jsonl")
SQLITE_NAMES = ("custody.db", "session-index.db", "console.db")
CONFIG_MEMBER = "config/sealroom.toml"
DUMPS = "postgresql"


class BackupError(SealroomError):
    """The archive could not be written, or is not a whole, untouched sealroom backup."""


@dataclass
class BackupReport:
    archive: str
    members: int
    bytes: int
    databases: dict[str, str] = field(default_factory=dict)  # name -> sqlite | postgresql
    evidence: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RestoreReport:
    data_dir: str
    members: int
    created_at: str
    databases: dict[str, str] = field(default_factory=dict)
    config: str | None = None  # where the archived configuration was put
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def database_urls(data: DataDir, extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The installation's databases by name: the custody log and the session index, and
    those other packages name (the console's, when it is not SQLite in the data directory)."""
    urls = {"custody": data.custody_url, "session-index": data.index_url()}
    urls.update({name: url for name, url in (extra or {}).items() if url})
    return urls


# -- backup --------------------------------------------------------------------------------


def write_backup(
    data: DataDir,
    out: Path,
    *,
    databases: Mapping[str, str],
    config: Path | None = None,
    evidence: bool = False,
    actor: str = "sealroom backup",
) -> BackupReport:
    """Write the installation's archive to ``out`` (see the module's docstring)."""
    if not data.root.is_dir():
        raise UsageError(f"no installation at {data.root}")
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        raise UsageError(f"{out} exists; a backup never replaces a file") from None
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror}") from exc
    report = BackupReport(archive=str(out), members=0, bytes=0, evidence=evidence)
    members: dict[str, str] = {}
    try:
        # Recorded first, so the archive holds the event of its own making.
        data.custody(data.store(create=True), data.signer()).record(
            actor=actor,
            role="operator",
            action="backup",
            detail={"archive": str(out), "evidence": evidence, "databases": sorted(databases)},
        )
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for folder in (*FOLDERS, *(("evidence/sessions",) if evidence else ())):
                for path in _files_under(data.root / folder):
                    _add(tar, members, path, path.relative_to(data.root).as_posix())
            for name in FILES:
                if (data.root / name).is_file():
                    _add(tar, members, data.root / name, name)
            if config is not None:
                _add(tar, members, config, CONFIG_MEMBER)
            with tempfile.TemporaryDirectory(prefix="sealroom-backup-") as scratch:
                for name, url in sorted(databases.items()):
                    member, kind = _database_copy(data, name, url, Path(scratch))
                    if member is not None:
                        _add(tar, members, member[0], member[1])
                        report.databases[name] = kind
                for path in _other_sqlite(data, databases, Path(scratch)):
                    _add(tar, members, path, path.name)
                    report.databases[path.stem] = "sqlite"
            manifest = {
                "v": VERSION,
                "created_at": format_utc(utc_now()),
                "host": socket.gethostname(),
                "sealroom": _version(),
                "data_dir": str(data.root),
                "databases": report.databases,
                "evidence": evidence,
                "members": members,
            }
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        out.unlink(missing_ok=True)  # never leave half an archive that looks like one
        raise
    fsync_directory(out.parent)
    report.members = len(members)
    report.bytes = out.stat().st_size
    return report


def _files_under(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _add(tar: tarfile.TarFile, members: dict[str, str], path: Path, name: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if name.startswith(("keys/", "ca/", *SECRETS)):
        info.mode &= PRIVATE  # a key or a secret is its owner's alone, whatever the disk said
    with path.open("rb") as handle:
        tar.addfile(info, handle)
    members[name] = digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, body: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    info.mode = PRIVATE
    info.mtime = int(utc_now().timestamp())
    tar.addfile(info, io.BytesIO(body))


def _database_copy(
    data: DataDir, name: str, url: str, scratch: Path
) -> tuple[tuple[Path, str] | None, str]:
    """A consistent copy of one database in ``scratch``, and its place in the archive."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        source = Path(parsed.database or "")
        if not source.is_file():
            return None, "sqlite"
        copy = scratch / source.name
        _sqlite_backup(source, copy)
        root, place = data.root.resolve(), source.resolve()
        member = place.relative_to(root).as_posix() if place.is_relative_to(root) else ""
        return (copy, member or f"sqlite/{name}.db"), "sqlite"
    if backend == "postgresql":
        dump = scratch / f"{name}.sql"
        _pg_dump(url, dump)
        return (dump, f"{DUMPS}/{name}.sql"), "postgresql"
    raise UsageError(f"cannot back up the {name} database: {backend} is not supported")


def _other_sqlite(data: DataDir, databases: Mapping[str, str], scratch: Path) -> Iterator[Path]:
    """The installation's SQLite files that no URL names (the console's default one)."""
    named = {
        Path(make_url(url).database or "").resolve()
        for url in databases.values()
        if make_url(url).get_backend_name() == "sqlite"
    }
    for file_name in SQLITE_NAMES:
        source = data.root / file_name
        if source.is_file() and source.resolve() not in named:
            copy = scratch / file_name
            _sqlite_backup(source, copy)
            yield copy


def _sqlite_backup(source: Path, copy: Path) -> None:
    """SQLite's online backup: a copy of the database as it was at one instant."""
    try:
        with (
            closing(sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)) as reading,
            closing(sqlite3.connect(copy)) as writing,
        ):
            reading.backup(writing)
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"{source.name} cannot be read ({exc}); for the custody log, `sealroom custody "
            "repair` first"
        ) from exc
    copy.chmod(PRIVATE)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without its password, and the environment that carries the password."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def _pg_dump(url: str, target: Path) -> None:
    libpq, env = _libpq(url)
    done = subprocess.run(
        ["pg_dump", "--format=plain", "--no-owner", "--no-privileges", f"--file={target}", libpq],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    target.chmod(PRIVATE)


def _version() -> str:
    try:
        return metadata.version("sealroom")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- restore -------------------------------------------------------------------------------


def restore_backup(archive: Path, target: Path, *, databases: Mapping[str, str]) -> RestoreReport:
    """Bring the installation in ``archive`` back at ``target`` (see the module's docstring).
    ``databases`` are where the PostgreSQL dumps go (their names as in the archive)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} is not empty: restore into a new or empty directory")
    if not archive.is_file():
        raise UsageError(f"no archive at {archive}")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore-", dir=target.parent))
    try:
        manifest = _extract(archive, staging)
        report = RestoreReport(
            data_dir=str(target),
            members=len(manifest["members"]),
            created_at=str(manifest.get("created_at")),
            databases=dict(manifest.get("databases") or {}),
        )
        for name, kind in report.databases.items():
            if kind == "postgresql":
                dump = staging / DUMPS / f"{name}.sql"
                url = databases.get(name)
                if url is None or make_url(url).get_backend_name() != "postgresql":
                    raise UsageError(
                        f"the archive holds the {name} database as a PostgreSQL dump: configure "
                        "its PostgreSQL URL (an empty database) and restore again"
                    )
                _psql(url, dump)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging / DUMPS)
        if (staging / CONFIG_MEMBER).is_file():
            report.config = str(target / CONFIG_MEMBER)
            report.notes.append(
                f"the archived configuration is at {report.config}: put it where the services "
                "read it (--config or $SEALROOM_CONFIG)"
            )
        if any(name.startswith("sqlite/") for name in manifest["members"]):
            report.notes.append(
                "databases that lived outside the data directory are in sqlite/: point their "
                "URLs there, or move them back"
            )
        if target.exists():
            target.rmdir()  # empty, checked above
        staging.rename(target)
        fsync_directory(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _extract(archive: Path, staging: Path) -> dict[str, Any]:
    """Extract into ``staging`` and check every member against ``backup.json``."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            try:
                manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            except (KeyError, AttributeError, ValueError) as exc:
                raise BackupError(f"{archive} is not a sealroom backup (no {MANIFEST})") from exc
            if manifest.get("v") != VERSION:
                raise BackupError(f"{archive}: unknown backup version {manifest.get('v')!r}")
            others = [m.name for m in tar.getmembers() if not m.isfile()]
            if others:  # a backup holds regular files only: no links, devices or folders
                raise BackupError(f"{archive}: {others[0]} is not a regular file")
            names = {m.name for m in tar.getmembers()} - {MANIFEST}
            listed = set(manifest.get("members") or {})
            if names != listed:
                extra = sorted(names ^ listed)[:3]
                raise BackupError(
                    f"{archive}: its members are not those backup.json lists: {extra}"
                )
            tar.extractall(staging, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive} cannot be read as a backup: {exc}") from exc
    (staging / MANIFEST).unlink(missing_ok=True)
    for name, expected in manifest["members"].items():
        path = staging / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise BackupError(f"{archive}: {name} does not match its digest in backup.json")
    return dict(manifest)


def _psql(url: str, dump: Path) -> None:
    libpq, env = _libpq(url)
    done = subprocess.run(
        ["psql", "--quiet", "--no-psqlrc", "--set=ON_ERROR_STOP=1", f"--file={dump}", libpq],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(
            f"loading the PostgreSQL dump failed (the database must be empty): "
            f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
        )
