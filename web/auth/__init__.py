"""Logging in and out, and the accounts and units the console knows."""

from web.auth.accounts import create_unit, create_user, unit_by_code
from web.auth.views import blueprint

__all__ = ["blueprint", "create_unit", "create_user", "unit_by_code"]
