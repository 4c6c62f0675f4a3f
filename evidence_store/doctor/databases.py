"""``sealroom doctor``: the databases are whole. The custody log matches its checkpoints and
has no events waiting in its journal (``--fix`` repairs it); every SQLite file of the
installation passes SQLite's own check."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from evidence_store.custody import repair_custody
from evidence_store.installation import DataDir, Problem, Severity

SQLITE_FILES = ("custody.db", "session-index.db", "console.db")


def check_custody(data: DataDir) -> list[Problem]:
    """The custody log can be read, matches its newest checkpoint, and nothing waits in its
    journal."""
    if not data.evidence.is_dir():
        return []
    log = data.custody(data.store(), data.signer())
    waiting = len(data.custody_journal.events())
    if log.damage is not None:
        return [
            Problem(
                "custody",
                Severity.SERIOUS,
                f"the custody log is damaged ({log.damage}); {waiting} event(s) wait in "
                f"{data.custody_journal.path}",
                fixable=True,
            )
        ]
    if waiting:
        return [
            Problem(
                "custody",
                Severity.SERIOUS,
                f"{waiting} custody event(s) wait in {data.custody_journal.path}, journaled "
                "while the custody database could not take them",
                fixable=True,
            )
        ]
    return []


def fix_custody(data: DataDir) -> list[str]:
    stamper = data.stamper()
    report = repair_custody(
        data.custody_url,
        data.store(),
        data.signer(),
        data.custody_journal,
        on_checkpoint=stamper.on_checkpoint if stamper else None,
    )
    done = [f"custody log repaired: {report.kept_rows} row(s) kept, {report.replayed} replayed"]
    if report.lost:
        done.append(f"custody rows {report.lost[0]}–{report.lost[1]} could not be rebuilt")
    return done


def check_sqlite_files(data: DataDir) -> list[Problem]:
    """SQLite's ``quick_check`` on every database file the installation keeps."""
    problems = []
    for path in _sqlite_files(data):
        verdict = _quick_check(path)
        if verdict != "ok":
            problems.append(
                Problem(
                    "databases",
                    Severity.SERIOUS,
                    f"{path.name} fails SQLite's integrity check: {verdict}",
                    paths=(str(path),),
                )
            )
    return problems


def _sqlite_files(data: DataDir) -> list[Path]:
    found = [data.root / name for name in SQLITE_FILES]
    url = make_url(data.custody_url)
    if url.get_backend_name() == "sqlite" and url.database:
        found.append(Path(url.database))
    return sorted({p for p in found if p.is_file()})


def _quick_check(path: Path) -> str:
    if path.stat().st_size == 0:
        return "the file is empty"
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "; ".join(str(row[0]) for row in rows[:5])
