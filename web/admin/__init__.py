"""Administration: users, units and rooms. The administrator never sees evidence."""

from web.admin.views import blueprint

__all__ = ["blueprint"]
