"""What a browser needs to play a clip, what its verification says, and clip time codes.

A clip plays the sealed original segments it covers, never a copy. The player's timeline
starts at the first covered segment (so a clip deep into a long session does not make the
browser wait for the media before it), and the clip's start and end are points on it. The
segments come from the clip's own URLs (``exhibits.segment``), which check each one against
the clip's proof before sending it (``web.clips.segments``, ``web.playback``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import url_for

from evidence_store import (
    ClipProof,
    Manifest,
    TrackedMedia,
    UsageError,
    VerificationError,
    reason_fields,
    runs,
    verify_clip,
)
from evidence_store.index import read_manifest
from web.clips.verified import key_of, verified_clips
from web.evidence import data_dir, evidence_store
from web.models import Clip
from web.playback import segment_mime, track_messages, tracks_of

# "75", "75.5", "1:15", "01:15.250", "1:02:03": hours optional, seconds may have a fraction.
_TIMECODE = re.compile(r"^(?:(?:(\d{1,3}):)?(\d{1,3}):)?(\d{1,6})(?:[.,](\d{1,3}))?$")


def parse_timecode(text: str) -> int:
    """Milliseconds from ``[[h:]mm:]ss[.fff]``; a UsageError that names the input if bad."""
    match = _TIMECODE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"{text.strip()!r} is not a time such as 1:05 or 0:01:05.5")
    hours, minutes, seconds, fraction = match.groups()
    seconds_too_big = bool(hours or minutes) and int(seconds) >= 60
    if seconds_too_big or (hours is not None and int(minutes or 0) >= 60):
        raise UsageError(f"{text.strip()!r}: minutes and seconds go up to 59")
    milliseconds = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds)) * 1000 + milliseconds


def format_timecode(milliseconds: int) -> str:
    """``hh:mm:ss.fff`` from the session's start, pauses excluded: a clip's one time-code
    scheme (its page, the presenter, the offline player), and what parse_timecode reads back."""
    seconds, millis = divmod(max(0, milliseconds), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def moment_stamp(manifest: Manifest | None, milliseconds: int) -> tuple[str, str]:
    """A moment of a session as every page shows one: its time code and the wall-clock time
    it was recorded at ("" when the session's manifest cannot be read)."""
    wall = wall_clock(manifest, milliseconds * 1000) if manifest is not None else ""
    return format_timecode(milliseconds), wall


def wall_clock(manifest: Manifest, session_us: int) -> str:
    """The date and time at which session time ``session_us`` was recorded, in the session's
    time zone, as the players write it beside the time code, in the console's one date format
    (``yyyy-mm-dd hh:mm:ss GMT+7``)."""
    at = session_us / 1e6
    run = runs(manifest)[0]
    for candidate in runs(manifest):
        if candidate["at"] <= at:
            run = candidate
    epoch = (run["wall_ms"] + (at - run["at"]) * 1000) / 1000
    try:
        zone: tzinfo = ZoneInfo(manifest.metadata.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    when = datetime.fromtimestamp(epoch, zone)
    offset = int((when.utcoffset() or timedelta(0)).total_seconds() // 60)
    hours, minutes = divmod(abs(offset), 60)
    sign = "+" if offset >= 0 else "-"
    name = "GMT" if not offset else f"GMT{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    return f"{when:%Y-%m-%d %H:%M:%S} {name}"


def clock_of(manifest: Manifest) -> dict[str, Any]:
    """What a browser needs to write the wall-clock time beside a time code."""
    return {"timezone": manifest.metadata.timezone, "runs": runs(manifest)}


def manifest_of(clip: Clip) -> Manifest | None:
    """The clip's session's stored manifest, for display (wall-clock times); None if it cannot
    be read (the clip's verification says why)."""
    try:
        return read_manifest(evidence_store(), clip.session_id)
    except (VerificationError, UsageError, OSError):
        return None


def proof_of(clip: Clip) -> ClipProof:
    return ClipProof.from_json(clip.proof)


def clip_player(clip: Clip) -> dict[str, Any]:
    """The player's data: the covered segments' URLs on a timeline that starts at the first
    of them, and the clip's in and out points on that timeline (seconds).

    A clip of a passthrough session also has its ``tracks`` (each on the session's own
    timeline, ``start`` and ``end`` the clip's points) and the caption's facts: it plays in
    the multi-track player (``tracks.js``)."""
    proof = proof_of(clip)
    data = _single_track(clip, proof)
    # Positions are shown on the session's clock: the clip's start plus the position in it.
    data["session_start"] = proof.start_us / 1e6
    stored = manifest_of(clip)
    data["clock"] = clock_of(stored) if stored else None
    if any(s.track is not None for s in proof.segments):
        manifest = read_manifest(evidence_store(), clip.session_id)
        if isinstance(manifest.media, TrackedMedia):
            data["tracks"] = tracks_of(
                proof.segments,
                manifest.media,
                lambda track, index: url_for(
                    "exhibits.track_segment", clip_id=clip.id, track=track, index=index
                ),
            )
            data["start"], data["end"] = proof.start_us / 1e6, proof.end_us / 1e6
            data["caption"] = {
                "room": manifest.metadata.room,
                "case_number": manifest.metadata.case_number,
                "timezone": manifest.metadata.timezone,
                "runs": runs(manifest),
            }
            data["messages"] = track_messages()
    return data


def _single_track(clip: Clip, proof: ClipProof) -> dict[str, Any]:
    first = proof.segments[0]
    return {
        "mime": segment_mime(evidence_store(), clip.session_id, first.index),
        "in": (proof.start_us - first.start_us) / 1e6,
        "out": (proof.end_us - first.start_us) / 1e6,
        "segments": [
            {
                "url": url_for("exhibits.segment", clip_id=clip.id, index=s.index),
                "start": (s.start_us - first.start_us) / 1e6,
                "duration": s.duration_us / 1e6,
            }
            for s in proof.segments
        ],
    }


def verify(clip: Clip) -> dict[str, Any]:
    """Re-check the clip against the store as it is now: what was verified, or the first
    failure. Hashes only the clip's own segments. The outcome stays small (no list of
    segment names) whatever the clip's length: it is kept in the session cookie.

    On success the sealed hashes are remembered for this very proof text
    (``web.clips.verified``): the clip's segment URL serves against nothing else."""
    data = data_dir()
    text = clip.proof  # read once: the text verified is the text remembered
    try:
        proof = ClipProof.from_json(text)
        verified = verify_clip(evidence_store(), proof, data.trust())
    except VerificationError as failure:
        return {
            "intact": False,
            "result": failure.kind,
            "location": failure.location or "",
            "reason": failure.reason,
            **reason_fields(failure.reason),
        }
    verified_clips().put(key_of(clip.id, text), verified.proof)
    return {
        "intact": True,
        "signer": verified.signer,
        "segments": verified.segments,
        "first_segment": proof.segments[0].name,
        "last_segment": proof.segments[-1].name,
        "head": verified.head,
    }
