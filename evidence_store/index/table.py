"""A session index rebuilt from a store alone — normally the bucket (`sealroom reindex`).

The bucket holds the truth; this table only makes listing and searching fast. It is a
cache, so it has no migrations: ``reindex`` drops and recreates its one table
(``session_index``) and fills it in a single transaction, so readers see the old index or
the new one, never half of one. A schema change is a rebuild.

Rows come from the manifest when the session is sealed and from link 0 otherwise. Nothing
here verifies anything: `sealroom verify --store s3` does that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import BigInteger, Engine, Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from evidence_store import layout
from evidence_store.bucket import RetentionPolicy
from evidence_store.model import Link, Manifest
from evidence_store.store import EvidenceReader
from evidence_store.timefmt import format_utc, parse_utc, utc_now


class SessionSource(EvidenceReader, Protocol):
    """A store that can also name its sessions (FilesystemStore and S3Store both can)."""

    def list_children(self, prefix: str) -> list[str]: ...

    def size(self, key: str) -> int: ...


class IndexBase(DeclarativeBase):
    pass


class SessionIndexRow(IndexBase):
    __tablename__ = "session_index"

    session_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room: Mapped[str] = mapped_column(String(200), index=True)
    case_number: Mapped[str] = mapped_column(String(200), index=True)
    unit: Mapped[str | None] = mapped_column(String(200), index=True)
    accused: Mapped[str] = mapped_column(String(2000))  # JSON list
    state: Mapped[str] = mapped_column(String(20))  # sealed, interrupted, open, damaged
    category: Mapped[str | None] = mapped_column(String(100))
    retain_until: Mapped[str | None] = mapped_column(String(27))
    started_at: Mapped[str | None] = mapped_column(String(27), index=True)
    ended_at: Mapped[str | None] = mapped_column(String(27))
    duration_us: Mapped[int] = mapped_column(BigInteger)
    segments: Mapped[int] = mapped_column(Integer)
    media_bytes: Mapped[int] = mapped_column(BigInteger)
    indexed_at: Mapped[str] = mapped_column(String(27))


@dataclass(frozen=True)
class IndexedSession:
    session_id: str
    room: str
    case_number: str
    unit: str | None
    accused: list[str]
    state: str
    category: str | None
    retain_until: str | None
    started_at: str | None
    ended_at: str | None
    duration_us: int
    segments: int
    media_bytes: int

    def as_dict(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["duration_seconds"] = round(self.duration_us / 1e6, 3)
        return document


def _read_json(store: SessionSource, key: str) -> Any:
    return json.loads(store.read_bytes(key))


def summarise(
    store: SessionSource, session_id: str, policy: RetentionPolicy | None = None
) -> IndexedSession:
    """One session's row, read (not verified) from ``store``."""
    prefix = layout.session_prefix(session_id)
    segment_keys = store.list_keys(prefix + "segments/")
    media = sum(store.size(key) for key in segment_keys)
    try:
        first = Link.model_validate(_read_json(store, prefix + layout.link_name(0)))
    except (ValueError, ValidationError, FileNotFoundError):
        return IndexedSession(
            session_id, "?", "?", None, [], "damaged", None, None, None, None, 0, 0, media
        )
    assert first.event is not None and first.event.metadata is not None
    metadata = first.event.metadata
    category = retain = None
    if policy is not None:
        category = policy.category(metadata)
        retain = format_utc(policy.session_until(metadata, parse_utc(first.time)))
    state, ended, duration = "open", None, 0
    if store.exists(prefix + layout.MANIFEST):
        try:
            manifest = Manifest.model_validate(_read_json(store, prefix + layout.MANIFEST))
        except (ValueError, ValidationError):
            state = "damaged"
        else:
            state = "interrupted" if manifest.interrupted else "sealed"
            ended, duration = manifest.ended_at, manifest.duration_us
            metadata = manifest.metadata
    if state == "open" and first.event.media is not None:
        duration = len(segment_keys) * first.event.media.segment_seconds * 1_000_000
    return IndexedSession(
        session_id=session_id,
        room=metadata.room,
        case_number=metadata.case_number,
        unit=metadata.unit,
        accused=list(metadata.accused),
        state=state,
        category=category,
        retain_until=retain,
        started_at=first.time,
        ended_at=ended,
        duration_us=duration,
        segments=len(segment_keys),
        media_bytes=media,
    )


def open_index(url: str) -> Engine:
    return create_engine(url)


def reindex(
    store: SessionSource, engine: Engine, *, policy: RetentionPolicy | None = None
) -> list[IndexedSession]:
    """Rebuild the index from ``store`` alone; returns the rows written."""
    ids = [
        name
        for name in store.list_children(layout.SESSIONS)
        if layout.SESSION_ID_RE.fullmatch(name)
    ]
    rows = [summarise(store, session_id, policy) for session_id in ids]
    now = format_utc(utc_now())
    IndexBase.metadata.drop_all(engine)
    IndexBase.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add_all(
            SessionIndexRow(
                session_id=row.session_id,
                room=row.room,
                case_number=row.case_number,
                unit=row.unit,
                accused=json.dumps(row.accused, ensure_ascii=False),
                state=row.state,
                category=row.category,
                retain_until=row.retain_until,
                started_at=row.started_at,
                ended_at=row.ended_at,
                duration_us=row.duration_us,
                segments=row.segments,
                media_bytes=row.media_bytes,
                indexed_at=now,
            )
            for row in rows
        )
    return rows


def read_index(engine: Engine) -> list[IndexedSession]:
    """Every indexed session, oldest first (empty if the index was never built)."""
    IndexBase.metadata.create_all(engine)
    with Session(engine) as session:
        return [
            IndexedSession(
                session_id=row.session_id,
                room=row.room,
                case_number=row.case_number,
                unit=row.unit,
                accused=list(json.loads(row.accused)),
                state=row.state,
                category=row.category,
                retain_until=row.retain_until,
                started_at=row.started_at,
                ended_at=row.ended_at,
                duration_us=row.duration_us,
                segments=row.segments,
                media_bytes=row.media_bytes,
            )
            for row in session.scalars(select(SessionIndexRow).order_by(SessionIndexRow.session_id))
        ]
