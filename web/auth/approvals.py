"""The two-person rule: an account that can read evidence needs two administrators.

Creating such an account, or giving an account a role that reads evidence or a new unit
while it has one, is a request (``AccountChange``) until a second administrator, not the one
who asked, approves it. Until then a new account cannot log in and an existing one keeps its
old role and unit. Requests and decisions are custody events, and auditors see the list.
On by default (``[console] two_person_rule``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from evidence_store import UsageError
from web.audit import record
from web.extensions import db
from web.models import AccountChange, Unit, User
from web.roles import EVIDENCE_READERS, Role
from web.settings import ConsoleSettings

PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
CREATE, ROLE, UNIT = "create", "role", "unit"


@dataclass(frozen=True)
class Actor:
    """Who acts: a console user (name and role) or the operator at the command line."""

    name: str
    role: str


def needs_second(settings: ConsoleSettings, role: str) -> bool:
    """Whether an account with ``role`` needs a second administrator to be given it."""
    return settings.two_person_rule and Role(role) in EVIDENCE_READERS


def pending_change(user: User) -> AccountChange | None:
    found: AccountChange | None = db.session.scalar(
        select(AccountChange).where(
            AccountChange.user_id == user.id, AccountChange.status == PENDING
        )
    )
    return found


def ask(user: User, kind: str, *, role: str, unit: Unit, actor: Actor) -> AccountChange:
    """File the change for a second administrator (committed, and a custody event)."""
    if pending_change(user) is not None:
        raise UsageError(
            f"a change of {user.username} is already waiting for approval; decide it first"
        )
    change = AccountChange(
        user=user, kind=kind, role=role, unit=unit, status=PENDING, requested_by=actor.name
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


def decide(change_id: int, *, approve: bool, actor: Actor) -> AccountChange:
    """Approve (and apply) or refuse a waiting change. The administrator who asked for it
    cannot decide it: that is the point of two people."""
    change = db.session.get(AccountChange, change_id)
    if change is None or change.status != PENDING:
        raise UsageError(f"no change {change_id} is waiting for approval")
    if change.requested_by == actor.name:
        raise UsageError("a second administrator must decide this: not the one who asked for it")
    user = change.user
    if approve:
        if change.kind == CREATE:
            user.approved = True
        user.role, user.unit = change.role, change.unit
    elif change.kind == CREATE:
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
