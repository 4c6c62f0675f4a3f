"""What the session player (static/review/player.js) is given: the codecs, the sealed
segments on the session's timeline with their URLs, and its messages in the page's language."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from evidence_store import SegmentRef, SessionMetadata, TrackedMedia, layout
from evidence_store.bucket import LayeredStore
from web.display import state_label
from web.playback.codecs import mime_type

HEAD_BYTES = 64 * 1024  # enough for the first avcC box
FAILED_STATES = ("tampered", "incomplete", "untrusted", "custody", "failed")  # web.display
TRACK_ID = re.compile(r"[a-z][a-z0-9]{0,15}")  # the format's track ids (cam1, sound)


def segment_mime(store: LayeredStore, session_id: str, index: int) -> str:
    """The MIME type with codecs, read from the start of one segment (the default codecs
    when it is missing)."""
    key = layout.session_prefix(session_id) + layout.segment_path(index)
    head = b""
    if store.exists(key):
        with store.open_range(key, 0, min(HEAD_BYTES, store.size(key))) as handle:
            head = handle.read()
    return mime_type(head)


def session_player(
    store: LayeredStore,
    session_id: str,
    segments: Sequence[SegmentRef],
    *,
    media: object = None,
    metadata: SessionMetadata | None = None,
    runs: list[dict[str, int | float]] | None = None,
) -> dict[str, Any]:
    """The whole session, each segment served through ``review.segment`` (checked there).

    A passthrough session (``media`` a ``TrackedMedia``) is played by every track at once
    (``tracks.js``): each track's segments, served through ``review.track_segment``, and the
    caption's facts from the sealed metadata."""
    data = _composite_player(store, session_id, segments)
    if isinstance(media, TrackedMedia) and metadata is not None:
        data["tracks"] = tracks_of(
            segments,
            media,
            lambda track, index: url_for(
                "review.track_segment", session_id=session_id, track=track, index=index
            ),
        )
        data["duration"] = max((s.end_us for s in segments), default=0) / 1e6
        data["caption"] = {
            "room": metadata.room,
            "case_number": metadata.case_number,
            "timezone": metadata.timezone,
            "runs": runs or [],
        }
        data["messages"].update(track_messages())
    return data


def tracks_of(
    segments: Sequence[SegmentRef] | Sequence[Any],
    media: TrackedMedia,
    url: Any,
    *,
    origin_us: int = 0,
) -> list[dict[str, Any]]:
    """Each track of ``media`` with its segments among ``segments`` (SegmentRef or
    ClipSegment), served from ``url(track, index)``, on a timeline from ``origin_us``."""
    return [
        {
            "id": track.id,
            "kind": track.kind,
            "device": track.device,
            "segments": [
                {
                    "src": url(track.id, s.index),
                    "name": s.name,
                    "start": (s.start_us - origin_us) / 1e6,
                    "duration": s.duration_us / 1e6,
                }
                for s in segments
                if s.track == track.id
            ],
        }
        for track in media.tracks
    ]


def track_messages() -> dict[str, str]:
    """What the multi-track player says, in the page's language."""
    return {
        "refused": refused_message(),
        "gap": _("NO RECORDING · camera joining or lost"),
        "undecodable": _(
            "This browser cannot decode this camera's recording (it is sealed and verified; "
            "the original file plays in VLC or ffplay)."
        ),
    }


def _composite_player(
    store: LayeredStore, session_id: str, segments: Sequence[SegmentRef]
) -> dict[str, Any]:
    return {
        "mime": segment_mime(store, session_id, segments[0].index if segments else 0),
        "duration": sum(s.duration_us for s in segments) / 1e6,
        "segments": [
            {
                "url": url_for("review.segment", session_id=session_id, index=s.index),
                "start": s.start_us / 1e6,
                "duration": s.duration_us / 1e6,
            }
            for s in segments
        ],
        "messages": {
            "refused": refused_message(),
            "refused_span": _("This part does not match its seal and is not played."),
        },
        "states": failed_states(),
    }


def failed_states() -> dict[str, str]:
    """The session's state as the page shows it after a refusal, by the verdict the 409
    names: the words the session list uses once a verification failed."""
    return {kind: state_label(kind) for kind in FAILED_STATES}


def refused_message() -> str:
    """What a player says where it stopped before a segment that does not match its seal;
    {time} is filled in by the player."""
    message: str = _(
        "Playback stopped at %(time)s: this part of the recording does not match its "
        "seal (altered or replaced), so it is not played.",
        time="{time}",
    )
    return message
