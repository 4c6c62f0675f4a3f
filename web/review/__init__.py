"""Reviewing sealed sessions: the list, the session page, playback and verification."""

from web.review.views import blueprint

__all__ = ["blueprint"]
