"""What a session is, read from a store without verifying it (that is verify's job).

``summarise`` is the one place a session's summary is made: the command line lists it, the
index stores it, the console shows it. Links and the manifest are read as the format core
reads them (``Link.parse``, ``Manifest.parse``), so a document that `sealroom verify` would
refuse makes the session *damaged* here too, never quietly something else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from evidence_store import layout
from evidence_store.bucket import RetentionPolicy
from evidence_store.chain import link_digest
from evidence_store.errors import Reason, TamperedError, UnknownSessionError
from evidence_store.model import EventType, Link, Manifest, SessionMetadata
from evidence_store.store import BrowsableStore, EvidenceReader
from evidence_store.timefmt import format_utc, parse_utc

UNKNOWN = "?"  # what a summary shows for a room or case it cannot read


class SealState(StrEnum):
    """Where a session stands, as far as its files tell without verifying them."""

    EMPTY = "empty"  # cut off before its first link: nothing was recorded
    OPEN = "open"  # recording, or cut off and not yet recovered
    SEALED = "sealed"  # stopped and sealed by its manifest
    INTERRUPTED = "interrupted"  # cut off, then recovered and sealed
    DAMAGED = "damaged"  # its first link or its manifest cannot be read as the format says


FINAL_STATES = frozenset({SealState.SEALED, SealState.INTERRUPTED})


@dataclass(frozen=True)
class SessionSummary:
    """One session at a glance: its state, what was entered at its start, and its extent."""

    session_id: str
    state: SealState
    metadata: SessionMetadata | None  # None when the first link cannot be read
    started_at: str | None
    ended_at: str | None
    duration_us: int
    segments: int
    media_bytes: int
    head: str | None  # the chain's head: sealed in the manifest, or the newest link's hash
    problem: str | None = None  # why the session is damaged: the first failing file and reason
    category: str | None = None  # the retention category, when summarised with a policy
    retain_until: str | None = None
    links: int = 0  # the chain's length this summary reflects (0: unknown)
    witnessed: bool = False  # the off-box witness's receipt for the seal is stored with it

    @property
    def room(self) -> str:
        return self.metadata.room if self.metadata else UNKNOWN

    @property
    def case_number(self) -> str:
        return self.metadata.case_number if self.metadata else UNKNOWN

    @property
    def unit(self) -> str | None:
        return self.metadata.unit if self.metadata else None

    @property
    def accused(self) -> list[str]:
        return list(self.metadata.accused) if self.metadata else []

    @property
    def investigators(self) -> list[str]:
        return list(self.metadata.investigators) if self.metadata else []

    @property
    def duration_seconds(self) -> float:
        return round(self.duration_us / 1e6, 3)

    def as_dict(self) -> dict[str, Any]:
        """The summary as the command line prints it (``--json``)."""
        return {
            "session_id": self.session_id,
            "state": self.state.value,
            "room": self.room,
            "case_number": self.case_number,
            "unit": self.unit,
            "accused": self.accused,
            "investigators": self.investigators,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_us": self.duration_us,
            "duration_seconds": self.duration_seconds,
            "segments": self.segments,
            "media_bytes": self.media_bytes,
            "head": self.head,
            "problem": self.problem,
            "category": self.category,
            "retain_until": self.retain_until,
            "witnessed": self.witnessed,
        }


def read_manifest(store: EvidenceReader, session_id: str) -> Manifest:
    """The stored manifest, read as the format requires but not verified."""
    prefix = layout.session_prefix(session_id)
    if not store.exists(prefix + layout.link_name(0)):
        raise UnknownSessionError(f"unknown session {session_id}")
    if not store.exists(prefix + layout.MANIFEST):
        raise TamperedError(
            Reason("session_manifest_sealed_yet", "the session has no manifest (not sealed yet)"),
            location=layout.MANIFEST,
        )
    return Manifest.parse(store.read_bytes(prefix + layout.MANIFEST), location=layout.MANIFEST)


def read_links(store: EvidenceReader, session_id: str) -> list[Link]:
    """The session's chain links in order, up to the first that cannot be read (for display;
    not verified)."""
    prefix = layout.session_prefix(session_id)
    links = []
    seq = 0
    while store.exists(key := prefix + layout.link_name(seq)):
        try:
            links.append(Link.parse(store.read_bytes(key), location=layout.link_name(seq)))
        except TamperedError:
            break
        seq += 1
    return links


def session_ids(store: BrowsableStore) -> list[str]:
    """Every session the store names, oldest first."""
    return [
        name
        for name in store.list_children(layout.SESSIONS)
        if layout.SESSION_ID_RE.fullmatch(name)
    ]


def list_sessions(
    store: BrowsableStore, policy: RetentionPolicy | None = None
) -> list[SessionSummary]:
    """Every session in the store, summarised (with ``policy``, its retention too), oldest
    first."""
    return [summarise(store, session_id, policy) for session_id in session_ids(store)]


def summarise(
    store: BrowsableStore, session_id: str, policy: RetentionPolicy | None = None
) -> SessionSummary:
    """One session's summary, read (not verified) from ``store``. With ``policy``, its
    retention category and date too."""
    summary = _Reading(store, session_id).summary()
    if policy is None or summary.metadata is None or summary.started_at is None:
        return summary
    return _with_retention(summary, summary.metadata, summary.started_at, policy)


def _with_retention(
    summary: SessionSummary, metadata: SessionMetadata, started_at: str, policy: RetentionPolicy
) -> SessionSummary:
    until = policy.session_until(metadata, parse_utc(started_at))
    return replace(summary, category=policy.category(metadata), retain_until=format_utc(until))


class _Reading:
    """The files of one session, listed once, and what they say."""

    def __init__(self, store: BrowsableStore, session_id: str) -> None:
        self.store = store
        self.session_id = session_id
        self.prefix = layout.session_prefix(session_id)
        self.keys = set(store.list_keys(self.prefix))
        self.segment_keys = sorted(k for k in self.keys if k.startswith(self.prefix + "segments/"))

    def has(self, relative: str) -> bool:
        return self.prefix + relative in self.keys

    def read(self, relative: str) -> bytes:
        return self.store.read_bytes(self.prefix + relative)

    def summary(self) -> SessionSummary:
        if not self.has(layout.link_name(0)):
            if any(k.startswith(self.prefix + "chain/") for k in self.keys):
                return self.damaged(None, None, f"{layout.link_name(0)}: missing")
            return self.stored(SealState.EMPTY, None, None, head=None)
        try:
            first = Link.parse(self.read(layout.link_name(0)), location=layout.link_name(0))
        except TamperedError as failure:
            return self.damaged(None, None, str(failure))
        event = first.event
        if event is None or event.type is not EventType.SESSION_STARTED:
            problem = f"{layout.link_name(0)}: the chain does not open with session_started"
            return self.damaged(None, None, problem)
        assert event.metadata is not None and event.media is not None
        if self.has(layout.MANIFEST):
            try:
                manifest = Manifest.parse(self.read(layout.MANIFEST), location=layout.MANIFEST)
            except TamperedError as failure:
                return self.damaged(event.metadata, first.time, str(failure))
            return self.sealed(manifest)
        length = self.chain_length()
        head = link_digest(self.read(layout.link_name(length - 1)))
        summary = self.stored(SealState.OPEN, event.metadata, first.time, head=head)
        # A rough length while recording: a passthrough session's tracks each hold the
        # session's time, so the busiest one counts.
        per_track = Counter(key.rsplit("/", 1)[0] for key in self.segment_keys)
        segments = max(per_track.values(), default=0)
        seconds = segments * event.media.segment_seconds
        return replace(summary, duration_us=seconds * 1_000_000, links=length)

    def sealed(self, manifest: Manifest) -> SessionSummary:
        return SessionSummary(
            session_id=self.session_id,
            state=SealState.INTERRUPTED if manifest.interrupted else SealState.SEALED,
            metadata=manifest.metadata,
            started_at=manifest.started_at,
            ended_at=manifest.ended_at,
            duration_us=manifest.duration_us,
            segments=len(manifest.segments),
            media_bytes=sum(s.size for s in manifest.segments),
            head=manifest.chain.head,
            links=manifest.chain.length,
            witnessed=self.has(layout.SEAL_RECEIPT),
        )

    def damaged(
        self, metadata: SessionMetadata | None, started_at: str | None, problem: str
    ) -> SessionSummary:
        summary = self.stored(SealState.DAMAGED, metadata, started_at, head=None)
        return replace(summary, problem=problem)

    def stored(
        self,
        state: SealState,
        metadata: SessionMetadata | None,
        started_at: str | None,
        *,
        head: str | None,
    ) -> SessionSummary:
        """A summary of what is stored so far (no manifest to say more)."""
        return SessionSummary(
            session_id=self.session_id,
            state=state,
            metadata=metadata,
            started_at=started_at,
            ended_at=None,
            duration_us=0,
            segments=len(self.segment_keys),
            media_bytes=sum(self.store.size(k) for k in self.segment_keys),
            head=head,
        )

    def chain_length(self) -> int:
        """How many links run unbroken from link 0."""
        length = 1
        while self.has(layout.link_name(length)):
            length += 1
        return length
