"""Typed access to what every page reads: the evidence (the local store, then the bucket),
the installation's data directory, the console's settings, and the index of sessions.

The store holds the truth; the index only makes search and unit scoping fast, and can be
dropped and rebuilt at any time.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evidence_store import (
    BrowsableStore,
    EvidenceReader,
    FilesystemStore,
    Link,
    TamperedError,
    layout,
)
from evidence_store.bucket import LayeredStore
from evidence_store.index import read_manifest, summarise
from evidence_store.installation import DataDir
from web.extensions import db
from web.models import ROOT_UNIT, IndexedSession
from web.settings import ConsoleSettings

STORE_KEY = "sealroom.store"
LOCAL_STORE_KEY = "sealroom.local_store"
DATA_KEY = "sealroom.data"
SETTINGS_KEY = "SEALROOM_SETTINGS"


def evidence_store() -> LayeredStore:
    """The local store, then the bucket for sessions that have left it."""
    store: LayeredStore = current_app.extensions[STORE_KEY]
    return store


def local_store() -> FilesystemStore:
    """The installation's own write-once store (exports and diagrams are kept beside it)."""
    store: FilesystemStore = current_app.extensions[LOCAL_STORE_KEY]
    return store


def data_dir() -> DataDir:
    """The installation's data directory: keys, trust roots, databases."""
    data: DataDir = current_app.extensions[DATA_KEY]
    return data


def console_settings() -> ConsoleSettings:
    """The ``[console]`` section of the configuration."""
    settings: ConsoleSettings = current_app.config[SETTINGS_KEY]
    return settings


FINAL_STATES = {"sealed", "interrupted"}


def refresh_index(store: BrowsableStore) -> int:
    """Add new sessions and update unfinished ones; returns how many rows changed."""
    known = {row.session_id: row.state for row in db.session.scalars(select(IndexedSession))}
    changed = 0
    for session_id in store.list_children(layout.SESSIONS):
        if not layout.SESSION_ID_RE.fullmatch(session_id):
            continue
        if known.get(session_id) in FINAL_STATES:
            continue
        row = _row_for(store, session_id)
        if row is None:
            continue
        db.session.merge(row)
        try:
            db.session.commit()  # one by one: a lost race costs only that row
        except IntegrityError:
            # Another request indexed the same new session first: its row is as good.
            db.session.rollback()
            continue
        changed += 1
    return changed


def _row_for(store: EvidenceReader, session_id: str) -> IndexedSession | None:
    summary = summarise(store, session_id)
    if summary.state == "empty":
        return None
    prefix = layout.session_prefix(session_id)
    try:
        metadata = read_manifest(store, session_id).metadata
        duration_us = int(summary.duration_seconds * 1_000_000)
    except TamperedError:
        try:
            first = Link.model_validate_json(store.read_bytes(prefix + layout.link_name(0)))
        except (ValueError, FileNotFoundError):
            return None
        if first.event is None or first.event.metadata is None:
            return None
        metadata = first.event.metadata
        duration_us = int(summary.duration_seconds * 1_000_000)
    return IndexedSession(
        session_id=session_id,
        unit_code=metadata.unit or ROOT_UNIT,
        room=metadata.room,
        case_number=metadata.case_number,
        accused="; ".join(metadata.accused),
        investigators="; ".join(metadata.investigators),
        started_at=summary.started_at or "",
        duration_us=duration_us,
        state=summary.state,
    )
