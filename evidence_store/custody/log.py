"""Appending to and verifying the custody log.

Each row's hash covers its content and the previous row's hash. Every append writes the new
head (seq, hash) as a signed checkpoint into the write-once store before it returns, so that
no row is ever left unanchored: rewriting rows (even with every hash recomputed), deleting
them, deleting the newest rows, or deleting the newest checkpoint, is detected by comparing
the database against the checkpoints, and the log's last row must have its own.

A row's hash format is versioned (the ``v`` column): version 1 hashed absent values as null;
version 2, written since, leaves them out, as every other document of the format does. Rows
keep the format they were written in, so an existing log verifies as it always did.
``on_checkpoint`` hears of each checkpoint once it is stored (to have it time-stamped); it
only queues, never waits.

A log opened with a ``journal`` never stops its caller: when the database cannot be read,
or no longer matches its checkpoints (zero-filled, truncated, deleted, restored from an old
copy), or an append fails, the log is *damaged* (``damage`` says why) and events go to the
journal (``evidence_store.custody.journal``) until ``sealroom custody repair`` rebuilds it.
Appending to such a database would bury the damage under new rows, or collide with the
checkpoints of the rows it lost.

A repair that could not rebuild some rows leaves a ``custody_rows_lost`` row that names them;
its ``prev`` is the signed checkpoint of the last lost row, so the chain still runs through
the checkpoints, and ``verify`` reports the rows as lost (``CustodyReport.lost``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from evidence_store.canonical import canonical_json, parse_canonical
from evidence_store.custody.journal import CustodyJournal
from evidence_store.custody.schema import CustodyRow
from evidence_store.errors import CustodyError, Reason, StoreError, TamperedError
from evidence_store.model import GENESIS_PREV
from evidence_store.signing import DeviceSigner, PublicKey, verify_signature
from evidence_store.timefmt import format_utc, utc_now
from evidence_store.tokens import TokenCheck, token_name
from evidence_store.upgrades import upgrade_to_head

CHECKPOINTS = "custody/checkpoints/"
ROW_FORMAT = 2  # the hash format of rows written now (see the module's docstring)
LOST_ROWS = "custody_rows_lost"  # the row a repair leaves where rows could not be rebuilt
APPEND_LOCK_KEY = 0x5EA1_0001  # the custody log's PostgreSQL advisory lock
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("sealroom.custody")
CheckpointHook = Callable[[str, bytes, str], None]  # (store key, body, its time)


class CheckpointStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...

    def read_bytes(self, key: str) -> bytes: ...

    def list_keys(self, prefix: str) -> list[str]: ...


@dataclass(frozen=True)
class CustodyEntry:
    v: int  # the row's hash format
    seq: int
    at: str
    actor: str
    role: str
    action: str
    session_id: str | None
    detail: dict[str, Any]
    ip: str | None
    user_agent: str | None
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CustodyReport:
    rows: int
    head: str
    checkpoints: int
    last_checkpoint_seq: int
    stamped_checkpoints: int = 0  # checkpoints whose time-stamp token was checked
    lost: tuple[tuple[int, int], ...] = ()  # (first, last) rows a repair could not rebuild

    @property
    def complete(self) -> bool:
        return not self.lost

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "lost": [list(span) for span in self.lost]}


def entry_hash(
    *,
    v: int,
    seq: int,
    at: str,
    actor: str,
    role: str,
    action: str,
    session_id: str | None,
    detail: dict[str, Any],
    ip: str | None,
    user_agent: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 of the row's canonical JSON, in format ``v`` (section 10 of the format)."""
    document: dict[str, Any] = {
        "v": v,
        "seq": seq,
        "at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "session": session_id,
        "detail": detail,
        "ip": ip,
        "user_agent": user_agent,
        "prev": prev_hash,
    }
    if v == 2:  # absent is absent, never null
        document = {key: value for key, value in document.items() if value is not None}
    elif v != 1:
        raise ValueError(f"unknown custody row format {v}")
    return hashlib.sha256(canonical_json(document)).hexdigest()


def _entry(row: CustodyRow) -> CustodyEntry:
    return CustodyEntry(
        v=row.v,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        role=row.role,
        action=row.action,
        session_id=row.session_id,
        detail=json.loads(row.detail),
        ip=row.ip,
        user_agent=row.user_agent,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


SQLITE_WRITE_WAIT_MS = 60_000


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Take SQLite's write lock at BEGIN, so two processes never append the same seq."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        # Appenders queue for the write lock. Python's default wait (5 s) is shorter than a
        # queue of busy console threads each checkpointing: a longer wait is not a failure.
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_WRITE_WAIT_MS}")

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the custody tables to the newest schema."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        upgrade_to_head(config)


class CustodyLog:
    """The custody log of one installation."""

    def __init__(
        self,
        engine: Engine,
        store: CheckpointStore,
        signer: DeviceSigner,
        *,
        on_checkpoint: CheckpointHook | None = None,
        journal: CustodyJournal | None = None,
        damage: str | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.signer = signer
        self._on_checkpoint = on_checkpoint
        self.journal = journal
        self.damage = damage  # why events go to the journal; None while the database takes them

    @classmethod
    def open(
        cls,
        url: str,
        store: CheckpointStore,
        signer: DeviceSigner,
        *,
        on_checkpoint: CheckpointHook | None = None,
        journal: CustodyJournal | None = None,
    ) -> CustodyLog:
        """Open (and migrate) the log at ``url``. With a ``journal``, a database that cannot
        be read or does not match its checkpoints opens *damaged* instead of failing."""
        # pre_ping: a pooled connection that died with a restarted server is replaced, not
        # handed to an append (the next event after a database restart must still land).
        engine = create_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            _serialise_sqlite_writers(engine)
        damage = None
        try:
            migrate(engine)
            damage = damage_of(engine, store)
        except SQLAlchemyError as exc:
            if journal is None:
                raise
            damage = f"the custody database cannot be read: {_reason(exc)}"
        if damage is not None and journal is not None:
            log.error(
                "ALARM (custody_damaged) %s; events are journaled to %s", damage, journal.path
            )
        return cls(
            engine,
            store,
            signer,
            on_checkpoint=on_checkpoint,
            journal=journal,
            damage=damage if journal is not None else None,
        )

    def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        session_id: str | None = None,
        detail: dict[str, Any] | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> CustodyEntry | None:
        """Append one event and checkpoint the new head; returns once both are stored. None:
        the log is damaged and the event was journaled instead (flushed to disk all the same)."""
        detail = detail or {}
        canonical_json(detail)  # reject what cannot be hashed before touching the database
        event: dict[str, Any] = {
            "actor": actor,
            "role": role,
            "action": action,
            "session_id": session_id,
            "detail": detail,
            "ip": ip,
            "user_agent": user_agent,
        }
        if self.damage is not None and self.journal is not None:
            self.journal.append(**event, because=self.damage)
            return None
        try:
            entry = self._append(**event)
        except SQLAlchemyError as exc:
            if self.journal is None:
                raise
            self._damaged(f"the custody database refused an append: {_reason(exc)}")
            self.journal.append(**event, because=str(self.damage))
            return None
        # Every row is anchored before anyone is told it was recorded. A crash between the
        # commit and this leaves the newest row unanchored: `verify` says so, until the next
        # append anchors it (its checkpoint's hash covers every row before it).
        try:
            self._checkpoint(entry)
        except StoreError as exc:
            if self.journal is None:
                raise
            # The row is in the database; its checkpoint is not. A name already taken means
            # the database lost rows the checkpoints remember.
            self._damaged(str(exc))
        return entry

    def record_lost_rows(
        self, first: int, last: int, checkpoint_hash: str, **detail: Any
    ) -> CustodyEntry:
        """For a repair: the row that says rows ``first``..``last`` could not be rebuilt,
        continuing from the signed checkpoint of row ``last`` (``checkpoint_hash``)."""
        entry = self._append(
            actor="sealroom custody repair",
            role="system",
            action=LOST_ROWS,
            session_id=None,
            detail={"lost": [first, last], **detail},
            ip=None,
            user_agent=None,
            after=(last, checkpoint_hash),
        )
        self._checkpoint(entry)
        return entry

    def _damaged(self, why: str) -> None:
        if self.damage is None:
            self.damage = why
            where = self.journal.path if self.journal else "nowhere"
            log.error("ALARM (custody_damaged) %s; events are journaled to %s", why, where)

    def _append(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        session_id: str | None,
        detail: dict[str, Any],
        ip: str | None,
        user_agent: str | None,
        after: tuple[int, str] | None = None,
    ) -> CustodyEntry:
        """Insert one row after the last (or, for a repair, after ``(seq, hash)``, which
        may be a row that is no longer there)."""
        with Session(self.engine) as session, session.begin():
            # One appender at a time. SQLite takes its write lock at BEGIN IMMEDIATE. On
            # PostgreSQL, FOR UPDATE on the last row is not enough (a waiting appender would
            # read that same row again once it is free), so a transaction advisory lock
            # serialises appenders until commit.
            if self.engine.dialect.name == "postgresql":
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY}
                )
            last = session.execute(
                select(CustodyRow).order_by(CustodyRow.seq.desc()).limit(1)
            ).scalar_one_or_none()
            seq = (last.seq + 1) if last else 1
            prev = last.hash if last else GENESIS_PREV
            if after is not None:
                seq, prev = after[0] + 1, after[1]
            at = format_utc(utc_now())
            digest = entry_hash(
                v=ROW_FORMAT,
                seq=seq,
                at=at,
                actor=actor,
                role=role,
                action=action,
                session_id=session_id,
                detail=detail,
                ip=ip,
                user_agent=user_agent,
                prev_hash=prev,
            )
            row = CustodyRow(
                v=ROW_FORMAT,
                seq=seq,
                at=at,
                actor=actor,
                role=role,
                action=action,
                session_id=session_id,
                detail=canonical_json(detail).decode(),
                ip=ip,
                user_agent=user_agent,
                prev_hash=prev,
                hash=digest,
            )
            session.add(row)
            session.flush()
            return _entry(row)

    def _checkpoint(self, entry: CustodyEntry) -> None:
        body = canonical_json(
            {
                "v": 1,
                "type": "sealroom.custody-checkpoint",
                "seq": entry.seq,
                "hash": entry.hash,
                "at": entry.at,
            }
        )
        key = f"{CHECKPOINTS}{entry.seq:012d}.json"
        try:
            self.store.put_bytes(key, body)
            self.store.put_bytes(key.removesuffix(".json") + ".sig", self.signer.sign(body))
        except StoreError as exc:
            raise StoreError(
                f"custody event {entry.seq} recorded, but its checkpoint could not be stored: {exc}"
            ) from exc
        if self._on_checkpoint is not None:
            try:
                self._on_checkpoint(key, body, entry.at)
            except Exception:  # the checkpoint is stored; its stamp is extra, never a failure
                log.exception("custody checkpoint %s stored, but not queued for stamping", key)

    def entries(
        self,
        *,
        session_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        before: int | None = None,
        after: int | None = None,
        newest_first: bool = False,
    ) -> list[CustodyEntry]:
        """Entries in order (or ``newest_first``), filtered by session, actor, action and time
        (UTC timestamps), and to rows before or after a ``seq``: a page of a long log is read
        by its key, with ``limit``, never by skipping rows."""
        order = CustodyRow.seq.desc() if newest_first else CustodyRow.seq
        query = select(CustodyRow).order_by(order)
        if before is not None:
            query = query.where(CustodyRow.seq < before)
        if after is not None:
            query = query.where(CustodyRow.seq > after)
        if session_id:
            query = query.where(CustodyRow.session_id == session_id)
        if actor:
            query = query.where(CustodyRow.actor == actor)
        if action:
            query = query.where(CustodyRow.action == action)
        if since:
            query = query.where(CustodyRow.at >= since)
        if until:
            query = query.where(CustodyRow.at <= until)
        if limit:
            query = query.limit(limit)
        with _readable(), Session(self.engine) as session:
            return [_entry(row) for row in session.scalars(query)]

    def head_seq(self) -> int:
        """The newest row's ``seq`` (0 for an empty log)."""
        with _readable(), Session(self.engine) as session:
            return int(session.scalar(select(func.max(CustodyRow.seq))) or 0)

    def latest(
        self, session_ids: Collection[str], actions: Collection[str]
    ) -> dict[str, CustodyEntry]:
        """Each session's newest entry of one of ``actions`` (sessions without one are left
        out): one query for a whole page of sessions."""
        if not session_ids or not actions:
            return {}
        newest = (
            select(CustodyRow.session_id, func.max(CustodyRow.seq).label("seq"))
            .where(CustodyRow.session_id.in_(session_ids), CustodyRow.action.in_(actions))
            .group_by(CustodyRow.session_id)
            .subquery()
        )
        query = select(CustodyRow).join(newest, CustodyRow.seq == newest.c.seq)
        with Session(self.engine) as session:
            return {str(row.session_id): _entry(row) for row in session.scalars(query)}

    def _all_rows(self, session: Session) -> Iterator[CustodyRow]:
        yield from session.scalars(
            select(CustodyRow).order_by(CustodyRow.seq).execution_options(yield_per=1000)
        )

    def verify(
        self, public_key: PublicKey | None = None, *, tokens: TokenCheck | None = None
    ) -> CustodyReport:
        """Check every row and every checkpoint; raise CustodyError at the first failure.

        Rows a repair could not rebuild are reported in ``lost`` (the report is then not
        ``complete``), if the repair's row names them and the signed checkpoint of the last
        of them is its ``prev``; any other gap is a deletion.

        With ``tokens``, each checkpoint's time-stamp token too (beside it, ``.tsr``): it
        must stamp that very checkpoint."""
        key = public_key or self.signer.public_key
        hashes: dict[int, str] = {}
        lost: list[tuple[int, int]] = []
        prev = GENESIS_PREV
        row_format = 1
        with _readable(), Session(self.engine) as session:
            expected_seq = 1
            for row in self._all_rows(session):
                where = f"custody row {row.seq}"
                if row.seq != expected_seq:
                    span = self.repaired_gap(row, expected_seq, key)
                    if span is None:
                        raise CustodyError(
                            Reason(
                                "row_expected_seq_missing",
                                "row {expected_seq} is missing (deleted)",
                                expected_seq=expected_seq,
                            ),
                            location=where,
                        )
                    lost.append(span)
                    prev = row.prev_hash
                if row.prev_hash != prev:
                    raise CustodyError(
                        Reason(
                            "prev_hash_does_match", "prev_hash does not match the row before it"
                        ),
                        location=where,
                    )
                if row.v not in (1, 2) or row.v < row_format:
                    raise CustodyError(
                        Reason(
                            "row_format_v_after",
                            "row format {v} after format {row_format} (rewritten)",
                            v=row.v,
                            row_format=row_format,
                        ),
                        location=where,
                    )
                row_format = row.v
                if row_hash(row) != row.hash:
                    raise CustodyError(
                        Reason(
                            "row_content_does_match",
                            "row content does not match its hash (rewritten)",
                        ),
                        location=where,
                    )
                hashes[row.seq] = prev = row.hash
                expected_seq = row.seq + 1
            count = session.scalar(select(func.count()).select_from(CustodyRow)) or 0
        checkpoints = [k for k in self.store.list_keys(CHECKPOINTS) if k.endswith(".json")]
        last_seq = 0
        for checkpoint_key in checkpoints:
            last_seq = max(last_seq, self._check_checkpoint(checkpoint_key, hashes, key, lost))
        last_row = max(hashes, default=0)
        if last_row and last_seq != last_row:
            raise CustodyError(
                Reason(
                    "rows_last_seq_last",
                    "rows {last_seq} to {last_row} are anchored by no signed checkpoint (every "
                    "append writes one): the newest checkpoint was deleted, or the process died "
                    "before writing it",
                    last_seq=last_seq + 1,
                    last_row=last_row,
                ),
                location=f"custody row {last_row}",
            )
        stamped = self._check_tokens(sorted(checkpoints), tokens) if tokens else 0
        return CustodyReport(
            rows=count,
            head=prev,
            checkpoints=len(checkpoints),
            last_checkpoint_seq=last_seq,
            stamped_checkpoints=stamped,
            lost=tuple(lost),
        )

    def repaired_gap(
        self, row: CustodyRow, expected_seq: int, key: PublicKey
    ) -> tuple[int, int] | None:
        """The rows a repair row names as lost, if ``row`` is one that accounts for exactly
        the gap before it and continues from the signed checkpoint of the last lost row."""
        if row.action != LOST_ROWS:
            return None
        try:
            named = json.loads(row.detail).get("lost")
        except (ValueError, AttributeError):
            return None
        span = (expected_seq, row.seq - 1)
        if named != list(span):
            return None
        checkpoint = f"{CHECKPOINTS}{span[1]:012d}.json"
        try:
            seq, digest = self.signed_checkpoint(checkpoint, key)
        except FileNotFoundError:
            raise CustodyError(
                Reason(
                    "rows_span_span2_are",
                    "rows {span}–{span2} are said to be lost, but no checkpoint of row {span22} "
                    "vouches for where the log went on",
                    span=span[0],
                    span2=span[1],
                    span22=span[1],
                ),
                location=f"custody row {row.seq}",
            ) from None
        if seq != span[1] or digest != row.prev_hash:
            raise CustodyError(
                Reason(
                    "repair_does_continue_from",
                    "the repair does not continue from the checkpoint of the last lost row",
                ),
                location=f"custody row {row.seq}",
            )
        return span

    def _check_tokens(self, checkpoints: list[str], check: TokenCheck) -> int:
        """Each checkpoint's time-stamp token, if it has one; how many there are. Their
        times are not compared with each other: two processes may write neighbouring
        checkpoints and queue them for stamping in the other order."""
        present = set(self.store.list_keys(CHECKPOINTS))
        stamped = 0
        for name in checkpoints:
            token = token_name(name)
            if token not in present:
                continue
            try:
                check(self.store.read_bytes(name), self.store.read_bytes(token), location=token)
            except TamperedError as exc:
                raise CustodyError(exc.reason, location=exc.location) from exc
            stamped += 1
        return stamped

    def signed_checkpoint(self, checkpoint_key: str, key: PublicKey) -> tuple[int, str]:
        """(seq, hash) of a checkpoint whose signature holds; CustodyError if it does not,
        FileNotFoundError if there is no such checkpoint."""
        body = self.store.read_bytes(checkpoint_key)
        try:
            verify_signature(
                key,
                self.store.read_bytes(checkpoint_key.removesuffix(".json") + ".sig"),
                body,
                location=checkpoint_key,
            )
            checkpoint = parse_canonical(body, location=checkpoint_key)
        except (TamperedError, FileNotFoundError) as exc:
            raise CustodyError(
                Reason("checkpoint_authentic_exc", "checkpoint is not authentic: {exc}", exc=exc),
                location=checkpoint_key,
            ) from exc
        return int(checkpoint["seq"]), str(checkpoint["hash"])

    def _check_checkpoint(
        self,
        checkpoint_key: str,
        hashes: dict[int, str],
        key: PublicKey,
        lost: list[tuple[int, int]],
    ) -> int:
        seq, digest = self.signed_checkpoint(checkpoint_key, key)
        if any(first <= seq <= last for first, last in lost):
            return seq  # a row a repair could not rebuild: reported as lost
        if seq not in hashes:
            last_row = max(hashes, default=0)
            raise CustodyError(
                Reason(
                    "checkpoint_records_row_seq",
                    "a checkpoint records row {seq} but the log ends at row {last_row}: history "
                    "was deleted or the log rolled back",
                    seq=seq,
                    last_row=last_row,
                ),
                location=checkpoint_key,
            )
        if hashes[seq] != digest:
            raise CustodyError(
                Reason(
                    "row_seq_differs_from",
                    "row {seq} differs from its checkpoint: history was rewritten",
                    seq=seq,
                ),
                location=checkpoint_key,
            )
        return seq


def row_hash(row: CustodyRow) -> str:
    """The hash a stored row should have, recomputed from its content."""
    return entry_hash(
        v=row.v,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        role=row.role,
        action=row.action,
        session_id=row.session_id,
        detail=json.loads(row.detail),
        ip=row.ip,
        user_agent=row.user_agent,
        prev_hash=row.prev_hash,
    )


def newest_checkpoint(store: CheckpointStore) -> tuple[int, str] | None:
    """(seq, key) of the newest custody checkpoint in ``store``, if there is one."""
    found = [
        (int(name.rsplit("/", 1)[-1].removesuffix(".json")), name)
        for name in store.list_keys(CHECKPOINTS)
        if name.endswith(".json") and name.rsplit("/", 1)[-1].removesuffix(".json").isdigit()
    ]
    return max(found) if found else None


def damage_of(engine: Engine, store: CheckpointStore) -> str | None:
    """Why the database no longer matches its newest checkpoint (rows lost, replaced or
    rewritten), or None. A checkpoint that cannot be read is verification's business."""
    newest = newest_checkpoint(store)
    if newest is None:
        return None
    seq, key = newest
    try:
        recorded = str(parse_canonical(store.read_bytes(key), location=key)["hash"])
    except (TamperedError, KeyError, OSError, StoreError):
        return None
    with Session(engine) as session:
        row = session.get(CustodyRow, seq)
        last = session.scalar(select(func.max(CustodyRow.seq))) or 0
    if row is None:
        return (
            f"the custody database ends at row {last}, but checkpoint {key} records row "
            f"{seq}: the database was truncated, replaced or rolled back"
        )
    if row.hash != recorded:
        return f"row {seq} differs from checkpoint {key}: the database was rewritten or replaced"
    return None


@contextlib.contextmanager
def _readable() -> Iterator[None]:
    """A database that cannot be read is a custody failure, said plainly."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise CustodyError(
            Reason(
                "custody_database_cannot_read",
                "the custody database cannot be read ({exc}); `sealroom custody repair` rebuilds "
                "what can be rebuilt",
                exc=_reason(exc),
            ),
            location="custody database",
        ) from exc


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).splitlines()[0]
