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

from sqlalchemy import delete, select

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


def note_failure(username: str, address: str, settings: ConsoleSettings, now: datetime) -> None:
    """Count a failure of the pair and, past the threshold, make it wait (not committed)."""
    row = _pair(username, address)
    if row is None:
        row = LoginBackoff(username=username[:64], address=address[:MAX_ADDRESS], failures=0)
        db.session.add(row)
    row.failures += 1
    row.last_failure_at = _naive(now)
    beyond = row.failures - settings.max_failed_logins
    if beyond >= 0:
        longest = settings.lockout_minutes * 60
        wait = min(longest, settings.backoff_seconds * 2 ** min(beyond, 20))
        row.blocked_until = _naive(now + timedelta(seconds=wait))


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
