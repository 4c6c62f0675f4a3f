"""Users and units, and everything done to an account: the rules shared by the console and
the command line. Every change of an account is a custody event naming who made it.

- A password an administrator sets (a new account, a reset, the first administrator that
  ``sealroom run`` makes) must be changed at the next login; a person changes their own.
- Disabling ends the account's sessions; enabling is the way back. Unlocking clears the
  waits after failed logins. A password change or reset ends the account's other sessions.
- New accounts, role and unit changes and passwords an administrator sets that open a path
  to evidence wait for a second administrator (``web.auth.approvals``).
- A directory account's password, role and unit are the directory's: only disabling,
  enabling and unlocking apply to it here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from evidence_store import UsageError, plain_text_problem
from web.audit import record
from web.auth import approvals, backoff, passwords, sessions
from web.auth.approvals import Actor
from web.extensions import db
from web.models import DIRECTORY, ROOT_UNIT, Unit, User
from web.roles import EVIDENCE_READERS, Role
from web.settings import ConsoleSettings

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
UNIT_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = passwords.MIN_PASSWORD


class WrongPassword(UsageError):
    """The current password given to change it is not right."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _plain(what: str, text: str) -> str:
    if (problem := plain_text_problem(text)) is not None:
        raise UsageError(f"{what}: {problem}")
    return text


def unit_by_code(code: str) -> Unit:
    unit: Unit | None = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise UsageError(f"unknown unit {code!r}")
    return unit


def user_by_name(username: str) -> User:
    user: User | None = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UsageError(f"no user {username!r}")
    return user


def role_of(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise UsageError(
            f"unknown role {value!r}; one of: {', '.join(r.value for r in Role)}"
        ) from exc


def create_unit(code: str, *, parent: str, name: str | None = None) -> Unit:
    if not UNIT_CODE_RE.fullmatch(code):
        raise UsageError("a unit code is 1-64 lowercase letters, digits, '.', '_' or '-'")
    if db.session.scalar(select(Unit).where(Unit.code == code)) is not None:
        raise UsageError(f"unit {code!r} exists already")
    unit = Unit(code=code, name=_plain("name", name or code), parent=unit_by_code(parent))
    db.session.add(unit)
    db.session.commit()
    return unit


def create_user(
    username: str,
    *,
    role: str,
    unit: str,
    password: str,
    display_name: str = "",
    must_change: bool = False,
    approved: bool = True,
    min_score: int = passwords.MIN_SCORE,
) -> User:
    """Add a local account (committed). The administrators' way in, with the two-person rule
    and a custody event, is ``create_account``."""
    if not USERNAME_RE.fullmatch(username):
        raise UsageError("a username is 2-64 lowercase letters, digits, '.', '_' or '-'")
    role_value = role_of(role)
    passwords.check_policy(password, username=username, min_score=min_score)
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise UsageError(f"user {username!r} exists already")
    user = User(
        username=username,
        role=role_value.value,
        unit=unit_by_code(unit),
        password_hash=passwords.hash_password(password),
        display_name=_plain("name", display_name or username),
        must_change_password=must_change,
        password_changed_at=_now(),
        approved=approved,
    )
    db.session.add(user)
    db.session.commit()
    return user


def create_account(
    actor: Actor,
    settings: ConsoleSettings,
    username: str,
    *,
    role: str,
    unit: str,
    password: str,
    display_name: str = "",
) -> User:
    """An administrator creates an account: its password is to be changed at first login,
    and one that can read evidence or administer waits for a second administrator."""
    role_value = role_of(role).value
    second = approvals.needs_second(settings, role_value)
    bootstrap = settings.two_person_rule and approvals.bootstrap(None, role_value)
    user = create_user(
        username,
        role=role,
        unit=unit,
        password=password,
        display_name=display_name,
        must_change=True,
        approved=not second,
        min_score=settings.min_password_score,
    )
    record(
        "user_created",
        actor=actor.name,
        role=actor.role,
        detail={
            "username": user.username,
            "role": user.role,
            "unit": user.unit.code,
            "awaiting_approval": second,
            **({"bootstrap": True} if bootstrap else {}),
        },
    )
    if second:
        approvals.ask(user, approvals.CREATE, role=user.role, unit=user.unit, actor=actor)
    return user


def _local_only(user: User, what: str) -> None:
    if user.source == DIRECTORY:
        raise UsageError(f"{user.username} is a directory account: its {what} is the directory's")


def _apply_password(user: User, password_hash: str) -> int:
    """Set a password an administrator chose: changed at the next login; sessions end."""
    user.password_hash = password_hash
    user.must_change_password = True
    user.password_changed_at = _now()
    return sessions.revoke_all(user.id, sessions.PASSWORD_RESET)


def reset_password(actor: Actor, settings: ConsoleSettings, user: User, password: str) -> bool:
    """An administrator sets a new password: changed at the next login; sessions end. False
    when it waits for a second administrator (whoever knows it could log in as the owner)."""
    _local_only(user, "password")
    passwords.check_policy(password, username=user.username, min_score=settings.min_password_score)
    password_hash = passwords.hash_password(password)
    if approvals.password_needs_second(settings, user):
        approvals.ask(
            user,
            approvals.PASSWORD,
            role=user.role,
            unit=user.unit,
            actor=actor,
            password_hash=password_hash,
        )
        return False
    ended = _apply_password(user, password_hash)
    db.session.commit()
    record(
        "password_reset",
        actor=actor.name,
        role=actor.role,
        detail={"username": user.username, "sessions_ended": ended},
    )
    return True


def decide_change(
    change_id: int, *, approve: bool, actor: Actor, detail: dict[str, str] | None = None
) -> None:
    """A second administrator approves (and applies) or refuses a waiting change."""
    approvals.decide(
        change_id, approve=approve, actor=actor, apply_password=_apply_password, detail=detail
    )


def change_own_password(settings: ConsoleSettings, user: User, current: str, new: str) -> None:
    """A person changes their own password; their other sessions end. A wrong current
    password is refused (``WrongPassword``); the caller counts it as a failed login."""
    _local_only(user, "password")
    if not passwords.verify(user.password_hash, current):
        raise WrongPassword("the current password is not right")
    if new == current:
        raise UsageError("the new password must differ from the current one")
    passwords.check_policy(new, username=user.username, min_score=settings.min_password_score)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.password_changed_at = _now()
    ended = sessions.revoke_all(user.id, sessions.PASSWORD_CHANGED, keep=user.login_id)
    db.session.commit()
    record(
        "password_changed",
        actor=user.username,
        role=user.role,
        detail={"username": user.username, "sessions_ended": ended},
    )


def unlock(actor: Actor, user: User) -> int:
    """Clear every wait after failed logins; returns how many addresses were waiting."""
    cleared = backoff.forget(user.username)
    db.session.commit()
    record(
        "user_unlocked",
        actor=actor.name,
        role=actor.role,
        detail={"username": user.username, "addresses": cleared},
    )
    return cleared


def _last_admin(user: User) -> bool:
    if user.role != Role.ADMIN.value or not user.active:
        return False
    others = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
    )
    return not others


def disable(actor: Actor, user: User) -> None:
    """The account can no longer log in and its sessions end; ``enable`` undoes it."""
    if not user.active:
        raise UsageError(f"{user.username} is disabled already")
    if _last_admin(user):
        raise UsageError("the last active administrator cannot be disabled")
    user.active = False
    ended = sessions.revoke_all(user.id, sessions.DISABLED)
    db.session.commit()
    record(
        "user_disabled",
        actor=actor.name,
        role=actor.role,
        detail={"username": user.username, "sessions_ended": ended},
    )


def enable(actor: Actor, user: User) -> None:
    """Undo ``disable``."""
    if user.active:
        raise UsageError(f"{user.username} is enabled already")
    user.active = True
    db.session.commit()
    record("user_enabled", actor=actor.name, role=actor.role, detail={"username": user.username})


def set_role(actor: Actor, settings: ConsoleSettings, user: User, role: str) -> bool:
    """Give ``user`` a new role; False when it waits for a second administrator."""
    _local_only(user, "role")
    new = role_of(role).value
    if new == user.role:
        raise UsageError(f"{user.username} is {new} already")
    if user.role == Role.ADMIN.value and _last_admin(user):
        raise UsageError("the last active administrator must stay an administrator")
    if approvals.needs_second(settings, new, user):
        approvals.ask(user, approvals.ROLE, role=new, unit=user.unit, actor=actor)
        return False
    old, user.role = user.role, new
    db.session.commit()
    record(
        "user_role_changed",
        actor=actor.name,
        role=actor.role,
        detail={"username": user.username, "from": old, "to": new},
    )
    return True


def set_unit(actor: Actor, settings: ConsoleSettings, user: User, unit_code: str) -> bool:
    """Move ``user`` to another unit; False when it waits for a second administrator."""
    _local_only(user, "unit")
    unit = unit_by_code(unit_code)
    if unit.id == user.unit_id:
        raise UsageError(f"{user.username} is in {unit.code} already")
    if settings.two_person_rule and Role(user.role) in EVIDENCE_READERS:
        approvals.ask(user, approvals.UNIT, role=user.role, unit=unit, actor=actor)
        return False
    old, user.unit = user.unit.code, unit
    db.session.commit()
    record(
        "user_unit_changed",
        actor=actor.name,
        role=actor.role,
        detail={"username": user.username, "from": old, "to": unit.code},
    )
    return True


def root_unit_code() -> str:
    return ROOT_UNIT
