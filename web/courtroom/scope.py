"""Who may do what in the courtroom, and which clips, diagrams and hearings a user may see.

Scoping follows the sessions' rule (``web.review.views.visible_session``): a user sees what belongs
to their unit and the units below it. Anything else answers 404, so its existence is not
revealed, and the attempt is written to the custody log as a denial.
"""

from __future__ import annotations

from typing import NoReturn

from flask import abort, request
from flask_login import current_user

from web.audit import record
from web.auth.accounts import unit_by_code, visible_units
from web.extensions import db
from web.models import Clip, Hearing
from web.roles import EVIDENCE_READERS, Role

# A prosecutor defines clips; a supervisor may too (reviewing the case file).
CLIP_AUTHORS = frozenset({Role.PROSECUTOR, Role.SUPERVISOR})
CLIP_READERS = EVIDENCE_READERS
# The court clerk and the prosecutor prepare hearings and drive the court screen.
HEARING_MANAGERS = frozenset({Role.COURT_CLERK, Role.PROSECUTOR})
HEARING_VIEWERS = HEARING_MANAGERS | {Role.SUPERVISOR, Role.AUDITOR}
PRESENTERS = HEARING_MANAGERS


def _hidden(kind: str, ident: int, session_id: str | None = None) -> NoReturn:
    record(
        "access_denied",
        session_id=session_id,
        detail={
            "endpoint": request.endpoint,
            kind: ident,
            "reason": "outside the user's units",
        },
    )
    abort(404)


def visible_clip(clip_id: int) -> Clip:
    clip = db.session.get(Clip, clip_id)
    if clip is None:
        abort(404)
    if clip.unit_code not in visible_units(current_user):
        _hidden("clip_id", clip_id, clip.session_id)
    return clip


def visible_hearing(hearing_id: int) -> Hearing:
    hearing = db.session.get(Hearing, hearing_id)
    if hearing is None:
        abort(404)
    if hearing.unit_code not in visible_units(current_user):
        _hidden("hearing_id", hearing_id)
    return hearing


def hearing_units(hearing: Hearing) -> set[str]:
    """The units whose exhibits may go on this hearing's list: everyone who can see the
    hearing must be able to see every exhibit on it."""
    return unit_by_code(hearing.unit_code).subtree_codes()


def can_manage_hearings() -> bool:
    return bool(current_user.is_authenticated and current_user.role_enum in HEARING_MANAGERS)


def can_author_clips() -> bool:
    return bool(current_user.is_authenticated and current_user.role_enum in CLIP_AUTHORS)
