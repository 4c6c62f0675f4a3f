"""``sealroom custody repair``: rebuild what can be rebuilt of a damaged custody log, and say
what cannot.

1. Read what rows the database still gives (none from a zero-filled file) and keep the
   longest run from row 1 that checks out: each row's hash, its ``prev``, and every signed
   checkpoint it reaches.
2. If that run is the whole log and it reaches the newest checkpoint, the database is sound:
   only the journal is replayed. Otherwise the damaged SQLite file is set aside (renamed,
   never deleted) and a new database receives the run, row for row.
3. Rows the checkpoints prove existed but that could not be rebuilt are named by one
   ``custody_rows_lost`` row, which continues from the signed checkpoint of the last of them,
   so the chain still runs unbroken through the checkpoints and ``custody verify`` reports
   exactly those rows as lost.
4. The events journaled meanwhile are appended in order (each keeping when and why it was
   journaled), the journal is set aside, and a ``custody_repair`` event records the repair.

A PostgreSQL log is not rebuilt here (restore it from its backup, ``sealroom restore``); its
journal is replayed once the database is sound.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from evidence_store.custody.journal import CustodyJournal
from evidence_store.custody.log import (
    CHECKPOINTS,
    CheckpointHook,
    CheckpointStore,
    CustodyLog,
    migrate,
    newest_checkpoint,
    row_hash,
)
from evidence_store.custody.schema import CustodyRow
from evidence_store.durable import fsync_directory
from evidence_store.errors import CustodyError, UsageError
from evidence_store.model import GENESIS_PREV
from evidence_store.signing import DeviceSigner
from evidence_store.timefmt import utc_now

log = logging.getLogger("sealroom.custody")
REPAIR_ACTOR = "sealroom custody repair"


@dataclass
class RepairReport:
    """What a repair found, rebuilt, and could not rebuild."""

    damage: str | None  # what was wrong, None if the database was sound
    kept_rows: int  # rows rebuilt (or kept) from the database
    lost: tuple[int, int] | None  # rows the checkpoints prove, that could not be rebuilt
    replayed: int  # journaled events appended
    damaged_copy: str | None = None  # where the damaged database was set aside
    journal_copy: str | None = None  # where the replayed journal was set aside
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["lost"] = list(self.lost) if self.lost else None
        return document


def repair_custody(
    url: str,
    store: CheckpointStore,
    signer: DeviceSigner,
    journal: CustodyJournal,
    *,
    on_checkpoint: CheckpointHook | None = None,
) -> RepairReport:
    """Repair the custody log at ``url`` (see the module's docstring)."""
    with journal.locked():  # no process journals while its events are being replayed
        rows, unreadable = _read_rows(url)
        checker = CustodyLog(create_engine(url), store, signer)
        kept = _sound_run(rows, checker)
        newest = newest_checkpoint(store)
        newest_seq = newest[0] if newest else 0
        last_kept = kept[-1].seq if kept else 0
        damage = unreadable or _mismatch(store, kept, rows)
        if damage is None and last_kept < newest_seq:
            damage = f"the database ends at row {last_kept}; the checkpoints go to row {newest_seq}"
        report = RepairReport(damage=damage, kept_rows=len(kept), lost=None, replayed=0)
        if damage is not None:
            report.damaged_copy = _rebuild(url, kept)
        log_ = CustodyLog.open(url, store, signer, on_checkpoint=on_checkpoint)
        if newest is not None and last_kept < newest_seq:
            _, digest = checker.signed_checkpoint(
                f"{CHECKPOINTS}{newest_seq:012d}.json", signer.public_key
            )
            report.lost = (last_kept + 1, newest_seq)
            log_.record_lost_rows(
                last_kept + 1,
                newest_seq,
                digest,
                reason=str(damage),
                damaged_copy=report.damaged_copy,
            )
        for event in journal.events():
            log_.record(
                actor=event.actor,
                role=event.role,
                action=event.action,
                session_id=event.session_id,
                detail={
                    **event.detail,
                    "journaled_at": event.at,
                    "journaled_because": event.because,
                },
                ip=event.ip,
                user_agent=event.user_agent,
            )
            report.replayed += 1
        stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
        kept_journal = journal.set_aside(f"replayed-{stamp}")
        report.journal_copy = None if kept_journal is None else str(kept_journal)
        if damage is not None or report.replayed:
            log_.record(
                actor=REPAIR_ACTOR,
                role="system",
                action="custody_repair",
                detail={
                    "damage": damage,
                    "kept_rows": report.kept_rows,
                    "lost": list(report.lost) if report.lost else None,
                    "replayed": report.replayed,
                    "damaged_copy": report.damaged_copy,
                },
            )
        log_.verify()  # the rebuilt log must check out; CustodyError if it does not
        return report


def _read_rows(url: str) -> tuple[list[CustodyRow], str | None]:
    """Every row the database still gives, in order, and why it stopped giving them."""
    rows: list[CustodyRow] = []
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return rows, "the database is missing"
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            query = select(CustodyRow).order_by(CustodyRow.seq).execution_options(yield_per=500)
            for row in session.scalars(query):
                session.expunge(row)
                rows.append(row)
    except SQLAlchemyError as exc:
        original = getattr(exc, "orig", None) or exc
        return rows, f"the database cannot be read: {str(original).splitlines()[0]}"
    finally:
        engine.dispose()
    return rows, None


def _sound_run(rows: list[CustodyRow], checker: CustodyLog) -> list[CustodyRow]:
    """The longest run of rows from row 1 whose hashes and links check out (a gap only where
    an earlier repair accounted for it)."""
    kept: list[CustodyRow] = []
    prev, expected = GENESIS_PREV, 1
    for row in rows:
        if row.seq != expected:
            try:
                span = checker.repaired_gap(row, expected, checker.signer.public_key)
            except CustodyError:
                span = None
            if span is None:
                break
            prev = row.prev_hash
        try:
            sound = row.prev_hash == prev and row_hash(row) == row.hash
        except ValueError:
            sound = False
        if not sound:
            break
        kept.append(row)
        prev, expected = row.hash, row.seq + 1
    return kept


def _mismatch(store: CheckpointStore, kept: list[CustodyRow], rows: list[CustodyRow]) -> str | None:
    """Why the rows kept are not the whole, sound log, if they are not: a row that does not
    check out, or a checkpoint that disagrees. ``kept`` is cut at the first disagreement."""
    if len(kept) < len(rows):
        bad = rows[len(kept)]
        return f"row {bad.seq} does not check out (rewritten or torn)"
    by_seq = {row.seq: row.hash for row in kept}
    for name in store.list_keys(CHECKPOINTS):
        stem = name.rsplit("/", 1)[-1].removesuffix(".json")
        if not (name.endswith(".json") and stem.isdigit()):
            continue
        seq = int(stem)
        if seq in by_seq and not _checkpoint_matches(store, name, by_seq[seq]):
            del kept[next(i for i, row in enumerate(kept) if row.seq == seq) :]
            return f"row {seq} differs from its checkpoint"
    return None


def _checkpoint_matches(store: CheckpointStore, name: str, digest: str) -> bool:
    try:
        return bool(json.loads(store.read_bytes(name)).get("hash") == digest)
    except (ValueError, OSError):
        return True  # a checkpoint that cannot be read is verification's business


def _rebuild(url: str, kept: list[CustodyRow]) -> str | None:
    """Set the damaged SQLite database aside and write ``kept`` into a new one; where the
    damaged one went."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise UsageError(
            "the custody database is damaged and is not SQLite: restore it from its backup "
            "(`sealroom restore`); `custody repair` replays the journal once it is sound"
        )
    path = Path(parsed.database)
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    moved = None
    if path.exists():
        path.rename(aside)
        moved = str(aside)
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).rename(aside.with_name(aside.name + suffix))
    fsync_directory(path.parent)
    engine = create_engine(url)
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            for row in kept:
                session.add(
                    CustodyRow(
                        v=row.v,
                        seq=row.seq,
                        at=row.at,
                        actor=row.actor,
                        role=row.role,
                        action=row.action,
                        session_id=row.session_id,
                        detail=row.detail,
                        ip=row.ip,
                        user_agent=row.user_agent,
                        prev_hash=row.prev_hash,
                        hash=row.hash,
                    )
                )
    finally:
        engine.dispose()
    return moved
