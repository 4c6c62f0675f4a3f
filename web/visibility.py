"""May this user see it, or do it? One rule for every page: a user sees what belongs to their
unit and the units below it, never sideways or above.

Anything outside answers 404, so its existence is not revealed, and the attempt is written
to the custody log as a denial (``access_denied``).
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import abort, request
from flask_login import current_user
from sqlalchemy import select

from evidence_store import UsageError, layout
from evidence_store.index import SessionSummary
from web.audit import record
from web.evidence import session_index
from web.extensions import db
from web.models import ROOT_UNIT, Clip, Diagram, ExportRequest, Hearing, Unit, User
from web.roles import CLIP_AUTHORS, HEARING_MANAGERS

OUTSIDE = "outside the user's units"


def visible_units(user: User) -> set[str]:
    """The unit codes whose evidence ``user`` may see: their unit and the units below."""
    return user.unit.subtree_codes()


def hidden(*, session_id: str | None = None, reason: str = OUTSIDE, **what: Any) -> NoReturn:
    """Refuse as if the thing did not exist (404), and log the attempt in custody."""
    record(
        "access_denied",
        session_id=session_id,
        detail={"endpoint": request.endpoint, **what, "reason": reason},
    )
    abort(404)


def session_unit(summary: SessionSummary) -> str:
    """The unit a session belongs to. One recorded without a unit, or whose unit cannot be
    read (a damaged first link), belongs to the root: never to a lower unit by accident."""
    return summary.unit or ROOT_UNIT


def visible_session(session_id: str) -> SessionSummary:
    """The session if this user may see it; otherwise 404, logged as a denial. Looked up in
    the catalog alone: an id it does not hold is 404 at the cost of one indexed read."""
    try:
        layout.check_session_id(session_id)
    except UsageError:
        abort(404)
    summary = session_index().get(session_id)
    if summary is None:
        abort(404)
    if session_unit(summary) not in visible_units(current_user):
        hidden(session_id=session_id)
    return summary


def visible_clip(clip_id: int) -> Clip:
    clip = db.session.get(Clip, clip_id)
    if clip is None:
        abort(404)
    if clip.unit_code not in visible_units(current_user):
        hidden(session_id=clip.session_id, clip_id=clip_id)
    return clip


def visible_hearing(hearing_id: int) -> Hearing:
    hearing = db.session.get(Hearing, hearing_id)
    if hearing is None:
        abort(404)
    if hearing.unit_code not in visible_units(current_user):
        hidden(hearing_id=hearing_id)
    return hearing


def visible_diagram(diagram_id: int) -> Diagram:
    diagram = db.session.get(Diagram, diagram_id)
    if diagram is None:
        abort(404)
    if diagram.unit_code not in visible_units(current_user):
        hidden(diagram=diagram_id)
    return diagram


def visible_export(request_id: int) -> ExportRequest:
    row = db.session.get(ExportRequest, request_id)
    if row is None:
        abort(404)
    if row.unit_code not in visible_units(current_user):
        hidden(session_id=row.session_id, request_id=row.id, reason="other unit")
    return row


def hearing_units(hearing: Hearing) -> set[str]:
    """The units whose exhibits may go on this hearing's list: everyone who can see the
    hearing must be able to see every exhibit on it."""
    unit = db.session.scalar(select(Unit).where(Unit.code == hearing.unit_code))
    return unit.subtree_codes() if unit is not None else {hearing.unit_code}


def can_manage_hearings() -> bool:
    return bool(current_user.is_authenticated and current_user.role_enum in HEARING_MANAGERS)


def can_author_clips() -> bool:
    return bool(current_user.is_authenticated and current_user.role_enum in CLIP_AUTHORS)
