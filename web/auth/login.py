"""Deciding a login: local accounts, directory accounts, and waits after failures.

Whatever the outcome (no such user, a wrong password, an account disabled, waiting for
approval or for its back-off, a directory account) exactly one argon2 verification runs and
a failure is counted the same way, so neither the answer nor the time it takes tells an
attacker which case they hit. Only "the directory cannot be reached" is said as such, since
it is about the server, not the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from web.auth import backoff, passwords
from web.extensions import db
from web.models import DIRECTORY, LOCAL, Unit, User
from web.settings import ConsoleSettings


class LoginRefused(Exception):
    """Why a login failed (for the custody log); the person sees one neutral message."""

    def __init__(self, reason: str, *, directory_down: bool = False) -> None:
        super().__init__(reason)
        self.directory_down = directory_down


@dataclass(frozen=True)
class Attempt:
    username: str
    password: str
    address: str


def authenticate(attempt: Attempt, settings: ConsoleSettings) -> User:
    """The user, or LoginRefused after counting the failure."""
    now = datetime.now(UTC)
    user: User | None = db.session.scalar(select(User).where(User.username == attempt.username))
    waiting = backoff.waiting(attempt.username, attempt.address, now)
    try:
        if user is not None and user.source == LOCAL:
            found = _local(user, attempt, waiting)
        elif settings.directory is not None and not waiting:
            passwords.verify(None, attempt.password)  # the work a local account costs
            found = _from_directory(user, attempt, settings)
        else:
            passwords.verify(None, attempt.password)
            raise LoginRefused("account locked" if waiting else "unknown user")
    except LoginRefused as refused:
        if not refused.directory_down:
            backoff.note_failure(attempt.username, attempt.address, settings, now)
        db.session.commit()
        raise
    backoff.forget(attempt.username, attempt.address)
    db.session.commit()
    return found


def _local(user: User, attempt: Attempt, waiting: bool) -> User:
    right = passwords.verify(user.password_hash, attempt.password)  # always, first
    if waiting:
        raise LoginRefused("account locked")
    if not user.active:
        raise LoginRefused("account disabled")
    if not user.approved:
        raise LoginRefused("account awaiting approval")
    if not right:
        raise LoginRefused("wrong password")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(attempt.password)
    return user


def _from_directory(user: User | None, attempt: Attempt, settings: ConsoleSettings) -> User:
    """Ask the directory; keep the local record of the account (role and unit from its
    groups) up to date. A local record disabled by an administrator stays disabled."""
    assert settings.directory is not None
    from web.auth import directory  # ldap3 is loaded only where a directory is configured

    try:
        account = directory.authenticate(settings.directory, attempt.username, attempt.password)
    except directory.DirectoryUnavailable as down:
        raise LoginRefused(f"directory unreachable: {down}", directory_down=True) from down
    except directory.DirectoryRefused as refused:
        raise LoginRefused(f"directory: {refused}") from refused
    unit = db.session.scalar(select(Unit).where(Unit.code == account.unit))
    if unit is None:
        raise LoginRefused(f"directory: unit {account.unit!r} is not known to the console")
    if user is None:
        user = User(
            username=attempt.username,
            display_name=account.display_name,
            password_hash="",
            role=account.role,
            unit=unit,
            source=DIRECTORY,
        )
        db.session.add(user)
    elif not user.active:
        raise LoginRefused("account disabled")
    user.role, user.unit, user.display_name = account.role, unit, account.display_name
    db.session.flush()
    return user
