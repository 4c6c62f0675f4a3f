"""Waiting after failed logins: exponential back-off per username and address.

After ``max_failed_logins`` failures of one username from one address, that pair waits
``backoff_seconds``, then twice as long after each further failure, up to
``lockout_minutes``. The wait belongs to the pair: someone failing on purpose from one
address slows only themselves, never the account's owner logging in from elsewhere, so an
account cannot be held locked from outside. An administrator's unlock clears every wait of
an account. Kept in the console's database, so every console process applies the same waits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.exc import IntegrityError

from web.extensions import db
from web.models import LoginBackoff
from web.settings import ConsoleSettings

MAX_ADDRESS = 64


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)  # stored as UTC without a zone


def _pair(username: str, address: str) -> LoginBackoff | None:
    row: LoginBackoff | None = db.session.scalar(
        select(LoginBackoff).where(
            LoginBackoff.username == username[:64], LoginBackoff.address == address[:MAX_ADDRESS]
        )
    )
    return row


def waiting(username: str, address: str, now: datetime) -> bool:
    """Whether this username must still wait before logging in from this address."""
    row = _pair(username, address)
    return bool(row and row.blocked_until and row.blocked_until > _naive(now))


def note_failure(username: str, address: str, settings: ConsoleSettings, now: datetime) -> int:
    """Count a failure of the pair and, past the threshold, make it wait (not committed).
    Returns the pair's failures so far. The count is raised in the database in one statement,
    so failures arriving at once, in any console process, are all counted."""
    user_key, address_key = username[:64], address[:MAX_ADDRESS]
    pair = and_(LoginBackoff.username == user_key, LoginBackoff.address == address_key)
    failures = _count_one_more(pair, now)
    if failures is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    LoginBackoff(
                        username=user_key,
                        address=address_key,
                        failures=1,
                        last_failure_at=_naive(now),
                    )
                )
            failures = 1
        except IntegrityError:  # another attempt made the pair's row first: count on it
            failures = _count_one_more(pair, now) or 1
    beyond = failures - settings.max_failed_logins
    if beyond >= 0:
        longest = settings.lockout_minutes * 60
        wait = min(longest, settings.backoff_seconds * 2 ** min(beyond, 20))
        db.session.execute(
            update(LoginBackoff)
            .where(pair)
            .values(blocked_until=_naive(now + timedelta(seconds=wait)))
        )
    return failures


def _count_one_more(pair: ColumnElement[bool], now: datetime) -> int | None:
    counted: int | None = db.session.execute(
        update(LoginBackoff)
        .where(pair)
        .values(failures=LoginBackoff.failures + 1, last_failure_at=_naive(now))
        .returning(LoginBackoff.failures)
    ).scalar_one_or_none()
    return counted


def forget(username: str, address: str | None = None) -> int:
    """Clear the failures of one pair (a login that succeeded), or of every address (an
    administrator's unlock). Returns how many pairs were waiting (not committed)."""
    query = delete(LoginBackoff).where(LoginBackoff.username == username)
    if address is not None:
        query = query.where(LoginBackoff.address == address[:MAX_ADDRESS])
    now = _naive(datetime.now(UTC))
    count = len(
        [
            row
            for row in db.session.scalars(
                select(LoginBackoff).where(LoginBackoff.username == username)
            )
            if row.blocked_until and row.blocked_until > now
        ]
    )
    db.session.execute(query)
    return count


def waiting_addresses(username: str) -> list[LoginBackoff]:
    """The addresses this account must wait at now (for the administrator's page)."""
    now = _naive(datetime.now(UTC))
    return [
        row
        for row in db.session.scalars(
            select(LoginBackoff)
            .where(LoginBackoff.username == username)
            .order_by(LoginBackoff.address)
        )
        if row.blocked_until and row.blocked_until > now
    ]
