"""The auditor's view of the custody log."""

from web.custody.views import blueprint

__all__ = ["blueprint"]
