"""Hearings, exhibit lists, and the presenter and audience screens."""

from web.courtroom.views import blueprint

__all__ = ["blueprint"]
