"""A clip's media as it leaves the console: each covered segment checked against the clip's
proof at the moment it is sent.

Verifying a clip when it is presented (``verify_clip``) says what the store held then. The
browser fetches the segments afterwards, and seeks fetch them again later, so every segment
is read whole (a few MB), hashed, and sent only if its SHA-256 and size are the ones the
signed chain sealed. Those values come from a ``verify_clip`` run in this process
(``web.clips.verified``), never from the database's copy of the proof alone: a proof
text this process has not verified (after a restart, or because someone changed it) is
verified first, and nothing is sent if that fails. Whatever is played is therefore what was
sealed, however long after the check the player asks for it.

A segment that does not match is refused and never sent. The refusal is a custody event
(``playback_refused``, with both hashes), logged once per login for each segment and what
was found in its place (a player retrying must not flood the custody log), and every court
screen that shows the clip switches at once to the neutral "not verified" notice
(``present_refused``), which the screens receive through their event streams.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from flask import session
from sqlalchemy import select

from evidence_store import ClipSegment, layout
from evidence_store.bucket import LayeredStore
from web.audit import record
from web.clips.media import verify
from web.clips.verified import Sealed, key_of, verified_clips
from web.courtroom import commands, presentation
from web.extensions import db
from web.models import Clip, HearingExhibit

MISSING = "missing"
REFUSED_KEY = "refused_segments"  # in the login's session: refusals already logged
REFUSALS_REMEMBERED = 40  # 16 characters each: the session cookie stays small
log = logging.getLogger(__name__)


class NotVerified(Exception):
    """The clip's proof, as the database holds it now, does not verify."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__(outcome.get("reason", ""))
        self.outcome = outcome


def established(clip: Clip) -> Sealed:
    """The sealed segments a ``verify_clip`` run in this process established for the clip's
    proof as the database holds it now; verified first if none has (NotVerified if that
    fails). The clip's segments are served against these values only."""
    cache = verified_clips()
    key = key_of(clip.id, clip.proof)
    found = cache.get(key)
    if found is not None:
        return found
    with cache.turn(key):
        found = cache.get(key)  # another request may have verified it meanwhile
        if found is not None:
            return found
        outcome = verify(clip)
        found = cache.get(key)
        if not outcome["intact"] or found is None:
            raise NotVerified(outcome)
        return found


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


def first_refusal(clip_id: int, index: int, found: str) -> bool:
    """True the first time this login is refused this segment with this content in its
    place; remembered in the login's session, like the clips it has played."""
    mark = hashlib.sha256(f"{clip_id}:{index}:{found}".encode()).hexdigest()[:16]
    seen: list[str] = session.get(REFUSED_KEY, [])
    if mark in seen:
        return False
    session[REFUSED_KEY] = [*seen, mark][-REFUSALS_REMEMBERED:]
    return True


def refuse(clip: Clip, check: SegmentCheck) -> None:
    """Log the refusal (once per login for this segment and what was found), and take the
    clip off every court screen that shows it."""
    segment = check.segment
    if first_refusal(clip.id, segment.index, f"{check.sha256}/{check.size}"):
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
    take_off_screens(clip, check.failure())


def refuse_unverified(clip: Clip, index: int, outcome: dict[str, Any]) -> None:
    """A segment asked for while the clip's proof does not verify: nothing is sent, the
    refusal is logged (once per login for this failure), and the clip leaves the screens."""
    failure = {k: v for k, v in outcome.items() if k != "signer"}
    found = f"unverified:{failure.get('location', '')}:{failure.get('reason', '')}"
    if first_refusal(clip.id, index, found):
        log.warning("clip %s does not verify; segment %s refused: %s", clip.id, index, failure)
        record(
            "playback_refused",
            session_id=clip.session_id,
            detail={"clip_id": clip.id, "index": index, "verification": failure},
        )
    take_off_screens(clip, failure)


def take_off_screens(clip: Clip, failure: dict[str, Any]) -> None:
    """Every court screen that shows the clip switches to the notice. A hearing whose screen
    shows something else is left alone: nothing is written for it."""
    hearings = db.session.scalars(
        select(HearingExhibit.hearing_id).where(HearingExhibit.clip_id == clip.id).distinct()
    ).all()
    for hearing_id in hearings:
        _version, now_shown = presentation.current(hearing_id)
        exhibit = now_shown.get("exhibit") or {}
        if exhibit.get("kind") != "clip" or exhibit.get("clip_id") != clip.id:
            continue
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
                "verification": failure,
            },
        )
