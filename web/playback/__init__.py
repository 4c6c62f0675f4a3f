"""Serving sealed media to a browser: every segment checked against its seal before it is
sent, with byte ranges; the player's data; codecs."""

from web.playback.checked import CheckedSegments, Refusal, Seal, checked_segments
from web.playback.codecs import mime_type
from web.playback.player import (
    TRACK_ID,
    segment_mime,
    session_player,
    track_messages,
    tracks_of,
)
from web.playback.seals import SessionSeals, session_seals
from web.playback.serve import Failure, Playback, first_refusal, refuse_unverified, serve_segment

__all__ = [
    "TRACK_ID",
    "CheckedSegments",
    "Failure",
    "Playback",
    "Refusal",
    "Seal",
    "SessionSeals",
    "checked_segments",
    "first_refusal",
    "mime_type",
    "refuse_unverified",
    "segment_mime",
    "serve_segment",
    "session_player",
    "session_seals",
    "track_messages",
    "tracks_of",
]
