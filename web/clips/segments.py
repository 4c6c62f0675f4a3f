"""What a clip's segments are served against, and what a refused one changes in court.

Verifying a clip when it is presented (``verify_clip``) says what the store held then. The
browser fetches the segments afterwards, and seeks fetch them again later, so each one goes
out through ``web.playback.serve_segment``, which reads it whole and sends it only if its
SHA-256 and size are the sealed ones. Those values come from a ``verify_clip`` run in this
process (``web.clips.verified``), never from the database's copy of the proof alone: a proof
text this process has not verified (after a restart, or because someone changed it) is
verified first, and nothing is sent if that fails. Whatever is played is therefore what was
sealed, however long after the check the player asks for it.

A refused segment is logged by ``web.playback`` (``playback_refused``), and every court
screen that shows the clip switches at once to the neutral "not verified" notice
(``present_refused``), which the screens receive through their event streams.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from web.audit import record
from web.clips.media import verify
from web.clips.verified import Sealed, key_of, verified_clips
from web.courtroom import commands, presentation
from web.extensions import db
from web.models import Clip, HearingExhibit
from web.playback import Failure, Playback


def playback_of(clip: Clip) -> Playback:
    """The clip as a place segments are played from: its events name it, and a refusal
    takes it off the court screens."""
    return Playback(
        session_id=clip.session_id,
        place=f"clip-{clip.id}",
        detail={"clip_id": clip.id},
        on_refused=lambda failure: take_off_screens(clip, failure),
    )


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


def take_off_screens(clip: Clip, failure: Failure) -> None:
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
