"""What a room tells the catalog about a session, as it happens: one event per step (started,
a segment sealed, sealed or interrupted, recovered, uploaded, released).

Every event carries the whole of what the room knows of the session at that step, not a
change: the catalog keeps, field by field, whichever is further along (``progress``), so an
event that arrives late, twice or out of order never moves a session backwards, and any one
event is enough to register a session the catalog had missed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from evidence_store.layout import SESSION_ID_RE
from evidence_store.model import Manifest, SessionMetadata
from evidence_store.timefmt import TIMESTAMP_PATTERN, format_utc, utc_now

EventKind = Literal[
    "started", "segments", "sealed", "interrupted", "recovered", "uploaded", "released"
]
EventState = Literal["open", "sealed", "interrupted"]
Location = Literal["spool", "bucket", "released"]
LOCATION_RANK = {"spool": 0, "bucket": 1, "released": 2}  # a session only ever moves on
STATE_RANK = {"open": 0, "sealed": 1, "interrupted": 1, "damaged": 2}
Timestamp = Annotated[str, StringConstraints(pattern=TIMESTAMP_PATTERN)]
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class CatalogEvent(BaseModel):
    """One step of one session, with everything the room knows of it then."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    kind: EventKind
    session_id: Annotated[str, StringConstraints(pattern=SESSION_ID_RE.pattern)]
    at: Timestamp  # when the room made the event
    state: EventState
    links: int = Field(ge=1, le=10**9)  # the chain's length at this step
    head: Digest
    metadata: SessionMetadata
    started_at: Timestamp
    ended_at: Timestamp | None = None
    duration_us: int = Field(ge=0, le=10**15)
    segments: int = Field(ge=0, le=10**9)
    media_bytes: int = Field(ge=0, le=10**16)
    location: Location = "spool"
    witnessed: bool = False  # the witness's receipt for the seal is stored with the session

    @property
    def progress(self) -> tuple[int, int]:
        """How far along the session this event is: sealed beats open, then a longer chain."""
        return (STATE_RANK[self.state], self.links)

    @classmethod
    def of_manifest(
        cls,
        kind: EventKind,
        manifest: Manifest,
        location: Location = "spool",
        *,
        witnessed: bool = False,
    ) -> CatalogEvent:
        """The event of a sealed session, from its manifest."""
        return cls(
            kind=kind,
            session_id=manifest.session,
            at=format_utc(utc_now()),
            state="interrupted" if manifest.interrupted else "sealed",
            links=manifest.chain.length,
            head=manifest.chain.head,
            metadata=manifest.metadata,
            started_at=manifest.started_at,
            ended_at=manifest.ended_at,
            duration_us=manifest.duration_us,
            segments=len(manifest.segments),
            media_bytes=sum(s.size for s in manifest.segments),
            location=location,
            witnessed=witnessed,
        )
