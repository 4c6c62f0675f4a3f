"""The one way a sealed segment reaches a player: the review page, a clip's page and the
court screens, from the local store or the bucket.

The caller says what the segment's seal is (the session's signed link, or a clip proof that
``verify_clip`` checked) and where it is being played from. The segment is read whole and
checked against that seal before any byte of it is sent (``web.playback.checked``); the
player then gets it, or the range it asked for, with HTTP Range support (206, suffix and
open ranges, 416 beyond the end).

A segment that does not match is refused with 409 and a clear message, and never sent. The
refusal is a custody event (``playback_refused``, with both hashes) and an alarm for the
unit's supervisors (``web.trust``: one alarm per failure of a session), logged once per login
for each place it is played from, segment and what was found in its place (a player
retrying must not flood the custody log); the caller may add its own consequences (a clip
leaves the court screens). Playing is a ``playback`` event, once per login and place.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request, send_file, session
from werkzeug.wrappers import Response

from evidence_store.bucket import LayeredStore
from evidence_store.custody import CustodyEntry
from web.audit import record
from web.metrics import verification_failed
from web.playback.checked import Refusal, Seal, checked_segments
from web.playback.player import FAILED_STATES
from web.trust import PLAYBACK, PREFETCH, raise_alarm, verdict_of

PLAYED_KEY = "played"  # in the login's session: places already logged as played
PLAYED_REMEMBERED = 50
REFUSED_KEY = "refused_segments"  # in the login's session: refusals already logged
REFUSALS_REMEMBERED = 40  # 16 characters each: the session cookie stays small
# The session player says why it asks for a segment: loading ahead of what is watched, or
# the part being played. Only what it says is recorded; nobody is assumed to have watched.
FETCH_HEADER = "Sealroom-Fetch"
VERDICT_HEADER = "Sealroom-Verdict"
log = logging.getLogger(__name__)

Failure = dict[str, Any]  # a verification outcome: intact, result, location, reason


@dataclass(frozen=True)
class Playback:
    """Where a segment is played from, as the custody log names it."""

    session_id: str
    place: str  # the session id, or "clip-7": playback is logged once per login and place
    detail: Mapping[str, Any] = field(default_factory=dict)  # added to every event
    on_refused: Callable[[Failure], None] | None = None  # what else a refusal changes


def serve_segment(
    store: LayeredStore, playback: Playback, seal: Seal, refused_message: str
) -> Response:
    """The sealed segment, or the range asked for, if its bytes are the sealed ones; else
    409 with ``refused_message``, logged. StoreError when only an unreachable bucket could
    answer."""
    found = checked_segments().bytes_of(store, playback.session_id, seal)
    if isinstance(found, Refusal):
        _log_refusal(playback, found)
        if playback.on_refused is not None:
            playback.on_refused(found.failure())
        return _refused(refused_message, "tampered")
    _log_playback(playback)
    # As a file object, so the server streams it (waitress would otherwise copy a body
    # over 1 MB to a temporary file first); send_file answers ranges and conditionals.
    response = send_file(
        io.BytesIO(found), mimetype="video/mp4", etag=seal.sha256, conditional=True, max_age=0
    )
    response.cache_control.no_cache = True  # asked again next time, and checked again
    return response


def refuse_unverified(
    playback: Playback, index: int, failure: Failure, refused_message: str
) -> Response:
    """A segment asked for while what would seal it does not verify (the session's chain up
    to it, or the clip's proof): nothing is sent, and the refusal is logged once per login
    for this place, segment and failure."""
    failure = {k: v for k, v in failure.items() if k != "signer"}
    found = f"unverified:{failure.get('location', '')}:{failure.get('reason', '')}"
    if first_refusal(playback.place, index, found):
        verification_failed("playback")
        log.warning(
            "%s: segment %s refused, its seal does not verify: %s", playback.place, index, failure
        )
        entry = record(
            "playback_refused",
            session_id=playback.session_id,
            detail={**playback.detail, **_asked_for(), "index": index, "verification": failure},
        )
        _alarm(entry)
    if playback.on_refused is not None:
        playback.on_refused(failure)
    return _refused(refused_message, str(failure.get("result") or "failed"))


def _refused(message: str, kind: str) -> Response:
    """409 with the message, and the verdict the session is now shown with (its state on
    the page changes at once, before any reload)."""
    response = Response(message, status=409, mimetype="text/plain")
    response.headers[VERDICT_HEADER] = kind if kind in FAILED_STATES else "failed"
    return response


def first_refusal(place: str, index: int, found: str) -> bool:
    """True the first time this login is refused this segment, played from this place, with
    this in its place; remembered in the login's session."""
    mark = hashlib.sha256(f"{place}:{index}:{found}".encode()).hexdigest()[:16]
    seen: list[str] = session.get(REFUSED_KEY, [])
    if mark in seen:
        return False
    session[REFUSED_KEY] = [*seen, mark][-REFUSALS_REMEMBERED:]
    return True


def _log_refusal(playback: Playback, refusal: Refusal) -> None:
    found = f"{refusal.path}:{refusal.found_sha256}/{refusal.found_size}"
    if not first_refusal(playback.place, refusal.index, found):
        return
    entry = record(
        "playback_refused",
        session_id=playback.session_id,
        detail={
            **playback.detail,
            **_asked_for(),
            "segment": refusal.path.removeprefix("segments/"),
            "index": refusal.index,
            "sealed_sha256": refusal.sealed_sha256,
            "found_sha256": refusal.found_sha256,
            "sealed_size": refusal.sealed_size,
            "found_size": refusal.found_size,
        },
    )
    _alarm(entry)


def _asked_for() -> dict[str, str]:
    """Why the player asked for the segment, when it said so (``requested_by``)."""
    said = request.headers.get(FETCH_HEADER, "")
    return {"requested_by": said} if said in (PREFETCH, PLAYBACK) else {}


def _alarm(refused: CustodyEntry | None) -> None:
    """A refusal is a failed verification in front of a person: the supervisors hear of it
    (once per failure of a session: ``raise_alarm``). (None: the custody log is damaged and
    the refusal was journaled; that is alarmed.)"""
    if refused is None:
        return
    verdict = verdict_of(refused)
    if verdict is not None and refused.session_id:
        raise_alarm(refused.session_id, verdict, requested_by=verdict.requested_by)


def _log_playback(playback: Playback) -> None:
    played: list[str] = session.get(PLAYED_KEY, [])
    if playback.place in played:  # once per place per login, not per fetch or range
        return
    record("playback", session_id=playback.session_id, detail=dict(playback.detail))
    session[PLAYED_KEY] = [*played, playback.place][-PLAYED_REMEMBERED:]
