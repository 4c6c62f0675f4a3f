"""Listing sessions and reading their manifests without verifying them (that is verify's job)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from evidence_store import layout
from evidence_store.errors import TamperedError, UnknownSessionError
from evidence_store.model import Link, Manifest, first_error
from evidence_store.store import BrowsableStore, EvidenceReader


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    room: str
    case_number: str
    state: str  # sealed, interrupted, open, damaged
    started_at: str | None
    duration_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_manifest(store: EvidenceReader, session_id: str) -> Manifest:
    """The stored manifest, parsed but not verified."""
    prefix = layout.session_prefix(session_id)
    if not store.exists(prefix + layout.link_name(0)):
        raise UnknownSessionError(f"unknown session {session_id}")
    if not store.exists(prefix + layout.MANIFEST):
        raise TamperedError(
            "the session has no manifest (not sealed yet)", location=layout.MANIFEST
        )
    data = store.read_bytes(prefix + layout.MANIFEST)
    try:
        return Manifest.model_validate(json.loads(data))
    except json.JSONDecodeError as exc:
        raise TamperedError(
            f"not valid JSON ({exc.msg} at line {exc.lineno})", location=layout.MANIFEST
        ) from exc
    except ValidationError as exc:
        raise TamperedError(
            f"not a sealroom manifest ({first_error(exc)})", location=layout.MANIFEST
        ) from exc


def summarise(store: EvidenceReader, session_id: str) -> SessionSummary:
    try:
        manifest = read_manifest(store, session_id)
        return SessionSummary(
            session_id,
            manifest.metadata.room,
            manifest.metadata.case_number,
            "interrupted" if manifest.interrupted else "sealed",
            manifest.started_at,
            round(manifest.duration_us / 1e6, 3),
        )
    except TamperedError:
        pass
    prefix = layout.session_prefix(session_id)
    if not store.exists(prefix + layout.link_name(0)):
        # Cut off between creating the session and writing its first link: nothing was
        # recorded, and nothing can be (the session's metadata was never stored).
        return SessionSummary(session_id, "?", "?", "empty", None, 0.0)
    try:
        first = Link.model_validate_json(store.read_bytes(prefix + layout.link_name(0)))
    except ValidationError:
        return SessionSummary(session_id, "?", "?", "damaged", None, 0.0)
    assert first.event is not None and first.event.metadata is not None
    segments = store.list_keys(prefix + "segments/")
    seconds = len(segments) * (first.event.media.segment_seconds if first.event.media else 0)
    return SessionSummary(
        session_id,
        first.event.metadata.room,
        first.event.metadata.case_number,
        "open",
        first.time,
        float(seconds),
    )


def list_sessions(store: BrowsableStore) -> list[SessionSummary]:
    """Every session in the store, oldest first."""
    ids = [
        name
        for name in store.list_children(layout.SESSIONS)
        if layout.SESSION_ID_RE.fullmatch(name)
    ]
    return [summarise(store, session_id) for session_id in ids]


def read_links(store: EvidenceReader, session_id: str) -> list[Link]:
    """The session's chain links in order, parsed but not verified (for display)."""
    prefix = layout.session_prefix(session_id)
    links = []
    seq = 0
    while store.exists(key := prefix + layout.link_name(seq)):
        try:
            links.append(Link.model_validate_json(store.read_bytes(key)))
        except ValidationError:
            break
        seq += 1
    return links
