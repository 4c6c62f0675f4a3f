"""Logging in and out, login sessions kept on the server, directory login, and the accounts
and units the console knows, with what may be done to them."""

from web.auth.accounts import (
    create_account,
    create_unit,
    create_user,
    decide_change,
    disable,
    enable,
    reset_password,
    set_role,
    set_unit,
    unit_by_code,
    unlock,
    user_by_name,
)
from web.auth.approvals import Actor
from web.auth.login import Attempt, LoginRefused, authenticate
from web.auth.views import blueprint

__all__ = [
    "Actor",
    "Attempt",
    "LoginRefused",
    "authenticate",
    "blueprint",
    "create_account",
    "create_unit",
    "create_user",
    "decide_change",
    "disable",
    "enable",
    "reset_password",
    "set_role",
    "set_unit",
    "unit_by_code",
    "unlock",
    "user_by_name",
]
