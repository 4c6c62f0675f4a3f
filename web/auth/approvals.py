"""The two-person rule: every path to evidence needs two administrators.

A request (``AccountChange``) waits for a second administrator, neither the one who asked
nor the account it changes, before it applies:

- creating an account that can read evidence or administer, or giving an account such a
  role (promoting to administrator too: an administrator could otherwise make a colluding
  one), or a new unit while it has one that reads evidence;
- an administrator setting an account's password (every role either reads evidence or
  administers): whoever knows the new password could log in as that person.

Until then a new account cannot log in and an existing one keeps its old role, unit and
password. Requests and decisions are custody events, and auditors see the list.

Bootstrap: an installation starts with one administrator (``sealroom run``), and someone
has to appoint the second, so while there is no other administrator account (enabled or
not: disabling one does not reopen the exemption, and demoting one is itself a request)
making an administrator, and setting the only administrator's password, apply at once,
marked ``bootstrap`` in the custody log. On by default (``[console] two_person_rule``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from evidence_store import UsageError
from web.audit import record
from web.extensions import db
from web.models import AccountChange, Unit, User
from web.roles import EVIDENCE_READERS, Role
from web.settings import ConsoleSettings

PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
CREATE, ROLE, UNIT, PASSWORD = "create", "role", "unit", "password"


@dataclass(frozen=True)
class Actor:
    """Who acts: a console user (name and role) or the operator at the command line."""

    name: str
    role: str


def guarded(role: str) -> bool:
    """Whether an account with ``role`` is a path to evidence: it reads evidence, or it
    administers the accounts that do."""
    return Role(role) in EVIDENCE_READERS or Role(role) is Role.ADMIN


def other_admins(user: User | None) -> int:
    """Administrator accounts besides ``user`` (enabled or not)."""
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN.value)
    if user is not None and user.id is not None:
        query = query.where(User.id != user.id)
    return int(db.session.scalar(query) or 0)


def bootstrap(user: User | None, role: str) -> bool:
    """Whether giving ``user`` (None: an account not made yet) the role ``role`` is the
    installation's bootstrap: making an administrator while no other exists but the first."""
    # At most one other administrator account: the first one, appointing the second.
    return Role(role) is Role.ADMIN and other_admins(user) <= 1


def needs_second(settings: ConsoleSettings, role: str, user: User | None = None) -> bool:
    """Whether giving an account (``user``, or a new one) the role ``role`` waits for a
    second administrator."""
    if not settings.two_person_rule or not guarded(role):
        return False
    return not bootstrap(user, role)


def password_needs_second(settings: ConsoleSettings, user: User) -> bool:
    """Whether an administrator setting ``user``'s password waits for a second one: always,
    but for the only administrator account of an installation (its recovery)."""
    if not settings.two_person_rule or not guarded(user.role):
        return False
    return not (Role(user.role) is Role.ADMIN and other_admins(user) == 0)


def pending_change(user: User) -> AccountChange | None:
    found: AccountChange | None = db.session.scalar(
        select(AccountChange).where(
            AccountChange.user_id == user.id, AccountChange.status == PENDING
        )
    )
    return found


def ask(
    user: User,
    kind: str,
    *,
    role: str,
    unit: Unit,
    actor: Actor,
    password_hash: str | None = None,
) -> AccountChange:
    """File the change for a second administrator (committed, and a custody event). A new
    password travels as its hash only, applied on approval."""
    if pending_change(user) is not None:
        raise UsageError(
            f"a change of {user.username} is already waiting for approval; decide it first"
        )
    change = AccountChange(
        user=user,
        kind=kind,
        role=role,
        unit=unit,
        status=PENDING,
        requested_by=actor.name,
        password_hash=password_hash,
    )
    db.session.add(change)
    db.session.commit()
    record(
        "account_change_requested",
        actor=actor.name,
        role=actor.role,
        detail={
            "change_id": change.id,
            "username": user.username,
            "kind": kind,
            "role": role,
            "unit": unit.code,
        },
    )
    return change


def decide(
    change_id: int,
    *,
    approve: bool,
    actor: Actor,
    apply_password: Callable[[User, str], int] | None = None,
    detail: dict[str, str] | None = None,
) -> AccountChange:
    """Approve (and apply) or refuse a waiting change. Neither the administrator who asked
    for it nor the account it changes can decide it: that is the point of two people.
    ``apply_password`` sets an approved password (and ends the account's sessions)."""
    change = db.session.get(AccountChange, change_id)
    if change is None or change.status != PENDING:
        raise UsageError(f"no change {change_id} is waiting for approval")
    if change.requested_by == actor.name:
        raise UsageError("a second administrator must decide this: not the one who asked for it")
    user = change.user
    if user.username == actor.name:
        raise UsageError("a second administrator must decide this: not the account it changes")
    ended = 0
    if approve:
        if change.kind == CREATE:
            user.approved = True
        if change.kind == PASSWORD:
            if apply_password is None or not change.password_hash:
                raise UsageError(f"change {change_id} carries no password")
            ended = apply_password(user, change.password_hash)
        user.role, user.unit = change.role, change.unit
    if change.kind == PASSWORD:
        change.password_hash = None  # applied or refused, it is not kept
    if change.kind == CREATE and not approve:
        user.active = False  # refused: it never becomes usable (an administrator may remove it)
    change.status = APPROVED if approve else REFUSED
    change.decided_by, change.decided_at = actor.name, datetime.now(UTC).replace(tzinfo=None)
    db.session.commit()
    record(
        "account_change_approved" if approve else "account_change_refused",
        actor=actor.name,
        role=actor.role,
        detail={
            "change_id": change.id,
            "username": user.username,
            "kind": change.kind,
            "role": change.role,
            "unit": change.unit.code,
            "requested_by": change.requested_by,
            **({"sessions_ended": ended} if change.kind == PASSWORD and approve else {}),
            **(detail or {}),
        },
    )
    return change


def changes(*, status: str | None = None) -> list[AccountChange]:
    """Requests, newest first (all of them, or those with ``status``)."""
    query = select(AccountChange).order_by(
        AccountChange.requested_at.desc(), AccountChange.id.desc()
    )
    if status is not None:
        query = query.where(AccountChange.status == status)
    return list(db.session.scalars(query))
