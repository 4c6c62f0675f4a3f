"""Users, units and passwords: the rules shared by the console and the command line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from evidence_store import UsageError
from web.extensions import db
from web.models import ROOT_UNIT, Unit, User
from web.roles import Role

hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
UNIT_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 12
# Verified against when the user does not exist, so a wrong username costs the same time.
_DUMMY_HASH = hasher.hash("not-a-real-password-for-timing")


class LoginRefused(Exception):
    """Why a login failed; the console shows one neutral message whatever the reason."""


def unit_by_code(code: str) -> Unit:
    unit: Unit | None = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise UsageError(f"unknown unit {code!r}")
    return unit


def create_unit(code: str, *, parent: str, name: str | None = None) -> Unit:
    if not UNIT_CODE_RE.fullmatch(code):
        raise UsageError("a unit code is 1-64 lowercase letters, digits, '.', '_' or '-'")
    if db.session.scalar(select(Unit).where(Unit.code == code)) is not None:
        raise UsageError(f"unit {code!r} exists already")
    unit = Unit(code=code, name=name or code, parent=unit_by_code(parent))
    db.session.add(unit)
    db.session.commit()
    return unit


def create_user(
    username: str, *, role: str, unit: str, password: str, display_name: str = ""
) -> User:
    if not USERNAME_RE.fullmatch(username):
        raise UsageError("a username is 2-64 lowercase letters, digits, '.', '_' or '-'")
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise UsageError(
            f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}"
        ) from exc
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise UsageError(f"user {username!r} exists already")
    user = User(
        username=username,
        role=role_value.value,
        unit=unit_by_code(unit),
        password_hash=hasher.hash(password),
        display_name=display_name or username,
    )
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str, *, max_failures: int, lockout: timedelta) -> User:
    """Return the user, or raise LoginRefused (after counting the failure)."""
    user: User | None = db.session.scalar(select(User).where(User.username == username))
    now = datetime.now(UTC)
    if user is None:
        _check(_DUMMY_HASH, password)
        raise LoginRefused("unknown user")
    locked_until = user.locked_until.replace(tzinfo=UTC) if user.locked_until else None
    if locked_until and locked_until > now:
        raise LoginRefused("account locked")
    if not user.active:
        raise LoginRefused("account disabled")
    if not _check(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = (now + lockout).replace(tzinfo=None)
            user.failed_logins = 0
        db.session.commit()
        raise LoginRefused("wrong password")
    user.failed_logins = 0
    user.locked_until = None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    db.session.commit()
    return user


def _check(stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def root_unit_code() -> str:
    return ROOT_UNIT
