"""Clips: spans of sealed sessions kept as exhibits, with their proofs and their media."""

from web.clips.media import clip_player, proof_of, verify
from web.clips.views import blueprint

__all__ = ["blueprint", "clip_player", "proof_of", "verify"]
