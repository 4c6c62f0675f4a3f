"""Administration: accounts (with the two-person rule), units and rooms. The administrator
never sees evidence."""

from web.admin import users  # noqa: F401 -- registers the account routes on the blueprint
from web.admin.views import blueprint

__all__ = ["blueprint"]
