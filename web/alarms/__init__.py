"""The alarms of the viewer's units, for their supervisors (and the auditor)."""

from web.alarms.views import blueprint

__all__ = ["blueprint"]
