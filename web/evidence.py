"""The console's index of sessions, refreshed from the evidence store.

The store holds the truth; the index only makes search and unit scoping fast, and can be
dropped and rebuilt at any time.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evidence_store import layout
from evidence_store.errors import TamperedError
from evidence_store.index.summary import read_manifest, summarise
from evidence_store.model import Link
from evidence_store.store import BrowsableStore, EvidenceReader
from web.extensions import db
from web.models import ROOT_UNIT, IndexedSession

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
