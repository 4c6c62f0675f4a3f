"""May this user see it, or do it? One rule for every page: a user sees what belongs to their
unit and the units below it, never sideways or above.

Anything outside answers 404, so its existence is not revealed, and the attempt is written
to the custody log as a denial (``access_denied``).

The custody log follows the same rule (``EventScope``): a viewer sees the events filed under
their units and their own actions; another person's private note is never shown. An event is
filed when it is written (``filed_under``), from trusted facts only: the unit of the session
or console object it is about, else of the account it is about, else the actor's unit at that
time; never a unit a request names. A refused access is filed under the actor's unit, so the
unit they tried to reach never sees their address or browser in its view. A bookmark's note
shared with the case team is the team's to read, in the log as on the session page.
What leaves in an export's custody excerpt is narrower still (``excerpt_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from flask import abort, request
from flask_login import current_user
from sqlalchemy import select

from evidence_store import UsageError, layout
from evidence_store.custody import CustodyEntry
from evidence_store.index import SessionSummary
from web.audit import FILED_UNDER, record
from web.evidence import session_index
from web.extensions import db
from web.models import ROOT_UNIT, Clip, Diagram, ExportRequest, Hearing, Unit, User
from web.roles import CLIP_AUTHORS, HEARING_MANAGERS

OUTSIDE = "outside the user's units"
# Detail fields only their author may read, unless the event says they were shared: a
# private bookmark's note is a working note; a shared one is read by the whole case team.
PRIVATE_DETAIL = ("note",)
SHARED = "shared"
HIDDEN_NOTE = "(private)"
# Denials are the console's security log, not something done to the evidence.
NOT_CUSTODY_OF_EVIDENCE = frozenset({"access_denied"})


def visible_units(user: User) -> set[str]:
    """The unit codes whose evidence ``user`` may see: their unit and the units below."""
    return user.unit.subtree_codes()


def hidden(*, session_id: str | None = None, reason: str = OUTSIDE, **what: Any) -> NoReturn:
    """Refuse as if the thing did not exist (404), and log the attempt in custody."""
    record(
        "access_denied",
        session_id=session_id,
        detail={"endpoint": request.endpoint, **what, "reason": reason},
        denial=True,
    )
    abort(404)


def known_units() -> set[str]:
    """Every unit code the console knows."""
    return set(db.session.scalars(select(Unit.code)))


def unit_of(code: str | None) -> str:
    """The unit something filed under ``code`` belongs to: the root's when there is none or
    the console does not know it (never nobody's, so the root always sees it)."""
    if code and db.session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        return code
    return ROOT_UNIT


def session_unit(summary: SessionSummary) -> str:
    """The unit a session belongs to. One recorded without a unit, under a unit the console
    does not know, or whose unit cannot be read (a damaged first link), belongs to the root:
    never to a lower unit by accident, and never invisible to everyone."""
    return unit_of(summary.unit)


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


# -- the custody log, as each viewer may see it -------------------------------------------


def _units_of_users(usernames: Iterable[str]) -> dict[str, str]:
    names = set(usernames)
    if not names:
        return {}
    rows = db.session.execute(
        select(User.username, Unit.code)
        .join(Unit, User.unit_id == Unit.id)
        .where(User.username.in_(names))
    )
    return {str(name): str(code) for name, code in rows}


_OBJECTS: tuple[tuple[str, Any], ...] = (
    ("clip_id", Clip),
    ("hearing_id", Hearing),
    ("diagram", Diagram),
    ("diagram_id", Diagram),
    ("request_id", ExportRequest),
)


def filed_under(
    actor: str, *, session_id: str | None, detail: dict[str, Any], denial: bool = False
) -> str:
    """The unit an event is filed under, decided as it is written: the session's, else the
    console object's, else the account's it is about, else the actor's unit now. A denial
    goes to the actor's unit (the caller leaves its target out)."""
    if not denial:
        if session_id:
            summary = session_index().get(session_id)
            return session_unit(summary) if summary else ROOT_UNIT
        for key, model in _OBJECTS:
            if isinstance(detail.get(key), int):
                found = db.session.get(model, detail[key])
                return unit_of(found.unit_code if found else None)
        account = detail.get("username")
        if isinstance(account, str) and (unit := _units_of_users([account]).get(account)):
            return unit
    return _units_of_users([actor]).get(actor, ROOT_UNIT)


@dataclass
class EventScope:
    """Which custody events ``viewer`` may see, and how (private notes hidden)."""

    viewer: User
    units: set[str] = field(init=False)
    _sessions: dict[str, str] = field(default_factory=dict, init=False)
    _objects: dict[tuple[str, Any], str] = field(default_factory=dict, init=False)
    _actors: dict[str, str] = field(default_factory=dict, init=False)
    _filed: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.units = visible_units(self.viewer)

    def shows(self, entry: CustodyEntry) -> bool:
        return entry.actor == self.viewer.username or self.unit_of_event(entry) in self.units

    def visible(self, entries: Sequence[CustodyEntry]) -> list[CustodyEntry]:
        """The entries this viewer may see, in order, with others' private notes hidden."""
        self._actors.update(_units_of_users({e.actor for e in entries} - self._actors.keys()))
        return [self.redacted(e) for e in entries if self.shows(e)]

    def redacted(self, entry: CustodyEntry) -> CustodyEntry:
        """The entry with another person's private note hidden. A note recorded as shared
        stays: whoever sees the event sees its session, so is of the team it was shared
        with. One recorded without ``shared`` (older events) stays private."""
        if (
            entry.actor == self.viewer.username
            or entry.detail.get(SHARED) is True
            or not any(k in entry.detail for k in PRIVATE_DETAIL)
        ):
            return entry
        detail = {k: (HIDDEN_NOTE if k in PRIVATE_DETAIL else v) for k, v in entry.detail.items()}
        return CustodyEntry(**{**entry.__dict__, "detail": detail})

    def unit_of_event(self, entry: CustodyEntry) -> str:
        """The unit the event was filed under when written. Events written before filing
        (and by other programs): a session, else an object of the console, else an account
        named in it, else the person who acted (a unit a request named is never trusted)."""
        detail = entry.detail
        if isinstance(filed := detail.get(FILED_UNDER), str):
            if filed not in self._filed:  # one lookup per unit, not per event of a page
                self._filed[filed] = unit_of(filed)
            return self._filed[filed]
        if entry.session_id:
            return self._session(entry.session_id)
        for key, model in _OBJECTS:
            if isinstance(detail.get(key), int):
                return self._object(key, model, detail[key])
        if isinstance(detail.get("username"), str):
            return self._actor(detail["username"])
        return self._actor(entry.actor)

    def _session(self, session_id: str) -> str:
        if session_id not in self._sessions:
            summary = session_index().get(session_id)
            self._sessions[session_id] = session_unit(summary) if summary else ROOT_UNIT
        return self._sessions[session_id]

    def _object(self, key: str, model: Any, object_id: int) -> str:
        if (key, object_id) not in self._objects:
            found = db.session.get(model, object_id)
            self._objects[(key, object_id)] = unit_of(found.unit_code if found else None)
        return self._objects[(key, object_id)]

    def _actor(self, username: str) -> str:
        if username not in self._actors:
            self._actors.update(_units_of_users([username]))
        return self._actors.get(username, ROOT_UNIT)


def excerpt_rows(entries: Sequence[CustodyEntry], session_unit_code: str) -> list[CustodyEntry]:
    """The rows of a session's custody that may leave in an export: the actions of people
    who may see the session (their unit is the session's or above it) and of the
    installation itself (recorder, operators); never another unit's rows, nor denials."""
    people = _units_of_users({e.actor for e in entries})
    above = _units_above(session_unit_code)
    return [
        e
        for e in entries
        if e.action not in NOT_CUSTODY_OF_EVIDENCE
        and (e.actor not in people or people[e.actor] in above)
    ]


def _units_above(code: str) -> set[str]:
    """``code`` and every unit above it: the units whose people see its evidence."""
    found: set[str] = set()
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    while unit is not None:
        found.add(unit.code)
        unit = unit.parent
    return found or {ROOT_UNIT}
