"""A clip's media as it leaves the console: each covered segment checked against the clip's
proof at the moment it is sent.

Verifying a clip when it is presented (``verify_clip``) says what the store held then. The
browser fetches the segments afterwards, and seeks fetch them again later, so every segment
is read whole (a few MB), hashed, and sent only if its SHA-256 and size are the ones the
proof names (the values the signed chain sealed). Whatever is played is therefore what was
sealed, however long after the check the player asks for it.

A segment that does not match is refused and never sent. The refusal is a custody event
(``playback_refused``, with both hashes), and every court screen that shows the clip
switches at once to the neutral "not verified" notice (``present_refused``), which the
screens receive through their event streams.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from evidence_store import layout
from evidence_store.clips import ClipSegment
from evidence_store.layered import LayeredStore
from web import courtroom_commands as commands
from web import presentation
from web.audit import record
from web.extensions import db
from web.models import Clip, HearingExhibit

MISSING = "missing"


@dataclass(frozen=True)
class SegmentCheck:
    """One covered segment as the store holds it now, against what the proof sealed."""

    segment: ClipSegment
    body: bytes | None  # the bytes, only when they are the sealed ones
    sha256: str  # what the store holds now: its SHA-256, or "missing"
    size: int  # and its size (-1 when missing)

    @property
    def intact(self) -> bool:
        return self.body is not None

    def failure(self) -> dict[str, Any]:
        """The refusal as a verification outcome (the shape of ``courtroom_media.verify``)."""
        if self.sha256 == MISSING:
            reason = "segment missing (deleted or renamed)"
        elif self.size != self.segment.size:
            reason = f"segment is {self.size} bytes, the chain sealed {self.segment.size}"
        else:
            reason = "segment content does not match its sealed SHA-256 (altered or replaced)"
        return {
            "intact": False,
            "result": "tampered",
            "location": layout.segment_path(self.segment.index),
            "reason": reason,
        }


def check_segment(store: LayeredStore, session_id: str, segment: ClipSegment) -> SegmentCheck:
    """Read the segment and compare it with the proof. A file of the wrong size is not even
    read (a replaced segment could be huge); a bucket that cannot be reached raises
    StoreError (that is an outage, not tampering)."""
    key = layout.session_prefix(session_id) + layout.segment_path(segment.index)
    if not store.exists(key):
        return SegmentCheck(segment, None, MISSING, -1)
    size = store.size(key)
    if size != segment.size:
        return SegmentCheck(segment, None, "not read (wrong size)", size)
    try:
        body = store.read_bytes(key)
    except FileNotFoundError:  # deleted between the two looks
        return SegmentCheck(segment, None, MISSING, -1)
    digest = hashlib.sha256(body).hexdigest()
    if len(body) != segment.size or digest != segment.sha256:
        return SegmentCheck(segment, None, digest, len(body))
    return SegmentCheck(segment, body, digest, len(body))


def refuse(clip: Clip, check: SegmentCheck) -> None:
    """Log the refusal, and take the clip off every court screen that shows it."""
    segment = check.segment
    record(
        "playback_refused",
        session_id=clip.session_id,
        detail={
            "clip_id": clip.id,
            "segment": segment.name,
            "index": segment.index,
            "sealed_sha256": segment.sha256,
            "found_sha256": check.sha256,
            "sealed_size": segment.size,
            "found_size": check.size,
        },
    )
    hearings = db.session.scalars(
        select(HearingExhibit.hearing_id).where(HearingExhibit.clip_id == clip.id).distinct()
    ).all()
    for hearing_id in hearings:
        edit = commands.refuse_clip(clip.id, presentation.now_ms())
        result = presentation.change(hearing_id, edit)
        if not result.changed:
            continue  # not on that hearing's screen now
        shown = result.previous["exhibit"]
        record(
            "present_refused",
            session_id=clip.session_id,
            detail={
                "hearing_id": hearing_id,
                "exhibit_id": shown["id"],
                "exhibit_number": shown["number"],
                "kind": "clip",
                "while_playing": True,
                "verification": check.failure(),
            },
        )
