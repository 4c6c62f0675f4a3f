"""Clips: spans of sealed sessions kept as exhibits, with their proofs and their media."""

from web.clips.media import clip_player, format_timecode, moment_stamp, proof_of, verify, wall_clock
from web.clips.views import blueprint

__all__ = [
    "blueprint",
    "clip_player",
    "format_timecode",
    "moment_stamp",
    "proof_of",
    "verify",
    "wall_clock",
]
