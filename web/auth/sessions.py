"""Login sessions kept on the server.

A login creates a row in ``login_sessions`` and gives the browser a random token (in the
signed session cookie, through Flask-Login); the table keeps only the token's SHA-256. Every
request looks the token up: a session that was revoked (logout, "log out everywhere", a
password change or reset, the account disabled), has been idle too long, or is older than
the absolute limit is refused, so a cookie captured before any of those is worth nothing.
All the state is in the database, so several console processes share it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from web.extensions import db
from web.models import LoginSession, User
from web.settings import ConsoleSettings

TOKEN_BYTES = 32
# last_seen_at is written at most this often per session (a write per request would cost
# every page a database write); the idle limit is therefore exact to within this.
TOUCH_SECONDS = 60

LOGOUT = "logout"
EVERYWHERE = "logout_everywhere"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 -- why a session ended, not a secret
PASSWORD_RESET = "password_reset"  # noqa: S105 -- why a session ended, not a secret
DISABLED = "account_disabled"
ENDED_BY_USER = "ended_by_user"
WRONG_PASSWORDS = "wrong_current_passwords"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def now() -> datetime:
    return _naive(datetime.now(UTC))


def open_session(user: User, *, address: str, user_agent: str) -> str:
    """Start a login session for ``user``; returns its token (committed)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    started = now()
    row = LoginSession(
        token_sha256=_digest(token),
        user_id=user.id,
        created_at=started,
        last_seen_at=started,
        address=address[:64],
        user_agent=user_agent[:300],
    )
    db.session.add(row)
    db.session.commit()
    user.login_token, user.login_id = token, row.id
    return token


def load(token: str, settings: ConsoleSettings) -> User | None:
    """The user of a live session, or None (unknown, revoked, idle or too old, or the
    account can no longer log in)."""
    if not token or len(token) > 200:
        return None
    row: LoginSession | None = db.session.scalar(
        select(LoginSession).where(LoginSession.token_sha256 == _digest(token))
    )
    if row is None or row.revoked_at is not None:
        return None
    moment = now()
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)
    if moment - row.last_seen_at > idle or moment - row.created_at > absolute:
        revoke_one(row, "expired")
        db.session.commit()
        return None
    user = row.user
    if not user.is_active:
        return None
    if (moment - row.last_seen_at).total_seconds() >= min(TOUCH_SECONDS, idle.total_seconds() / 4):
        row.last_seen_at = moment
        db.session.commit()
    user.login_token, user.login_id = token, row.id
    return user


def revoke_one(row: LoginSession, reason: str) -> None:
    """End one session (not committed)."""
    if row.revoked_at is None:
        row.revoked_at = now()
        row.revoked_reason = reason


def revoke_token(token: str, reason: str) -> None:
    """End the session of ``token`` (committed)."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.token_sha256 == _digest(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now(), revoked_reason=reason)
    )
    db.session.commit()


def revoke_all(user_id: int, reason: str, *, keep: int | None = None) -> int:
    """End every live session of a user (but ``keep``); returns how many (not committed)."""
    query = (
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now(), revoked_reason=reason)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    result = db.session.execute(query.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def live_sessions(user_id: int, settings: ConsoleSettings) -> list[LoginSession]:
    """A user's sessions that have not ended, newest first (their "where am I logged in")."""
    moment = now()
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)
    rows = db.session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .order_by(LoginSession.created_at.desc())
    ).all()
    return [
        row
        for row in rows
        if moment - row.last_seen_at <= idle and moment - row.created_at <= absolute
    ]
