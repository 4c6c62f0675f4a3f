"""Hearings, their exhibit lists, and the presenter and audience screens.

A hearing (case, court, date) belongs to the unit of whoever created it and has an ordered
list of exhibits, each a clip or a diagram with its exhibit number. The court clerk and the
prosecutor manage hearings and present them; the supervisor and the auditor may look. The
presenter and audience screens live in ``web.courtroom.present``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields import SelectChoice

from web.access import allow
from web.audit import record
from web.courtroom import commands, presentation
from web.courtroom.forms import ExhibitForm, HearingForm, MoveForm
from web.courtroom.present import blueprint as presentation_screens
from web.evidence import session_index
from web.extensions import db
from web.forms import ConfirmForm, errors_of
from web.models import Clip, Diagram, Hearing, HearingExhibit, PresentationState
from web.roles import HEARING_MANAGERS, HEARING_VIEWERS
from web.visibility import (
    can_manage_hearings,
    hearing_units,
    visible_clip,
    visible_diagram,
    visible_hearing,
    visible_units,
)

blueprint = Blueprint("courtroom", __name__, url_prefix="/hearings")
blueprint.register_blueprint(presentation_screens)


@blueprint.get("/")
@allow(*HEARING_VIEWERS)
def hearings() -> str:
    rows = db.session.scalars(
        select(Hearing)
        .where(Hearing.unit_code.in_(visible_units(current_user)))
        .order_by(Hearing.hearing_date.desc(), Hearing.id.desc())
    ).all()
    record("list_hearings")
    return render_template("courtroom/hearings.html", rows=rows, form=HearingForm())


@blueprint.post("/")
@allow(*HEARING_MANAGERS)
def create() -> Response | tuple[str, int]:
    form = HearingForm()
    if not form.validate_on_submit():
        for name, messages in form.errors.items():
            label = form[name].label.text if name in form else name
            flash(f"{label}: {messages[0]}", "error")
        rows = db.session.scalars(
            select(Hearing).where(Hearing.unit_code.in_(visible_units(current_user)))
        ).all()
        return render_template("courtroom/hearings.html", rows=rows, form=form), 400
    hearing = Hearing(
        unit_code=current_user.unit.code,
        case_number=(form.case_number.data or "").strip(),
        court=(form.court.data or "").strip(),
        hearing_date=form.hearing_date.data or "",
        created_by=current_user.id,
    )
    db.session.add(hearing)
    db.session.commit()
    record(
        "hearing_created",
        detail={"hearing_id": hearing.id, "case": hearing.case_number, "court": hearing.court},
    )
    flash(
        _("Hearing created for case %(case)s. Add its exhibits below.", case=hearing.case_number),
        "ok",
    )
    return redirect(url_for("courtroom.detail", hearing_id=hearing.id))


def _choices(hearing: Hearing) -> list[SelectChoice]:
    """Clips and diagrams that may go on this hearing: visible to this user, and of the
    hearing's unit or below (so everyone who sees the hearing sees its exhibits)."""
    units = visible_units(current_user) & hearing_units(hearing)
    clips = db.session.scalars(
        select(Clip).where(Clip.unit_code.in_(units)).order_by(Clip.exhibit_number)
    ).all()
    diagrams = db.session.scalars(
        select(Diagram).where(Diagram.unit_code.in_(units)).order_by(Diagram.title)
    ).all()
    return [
        SelectChoice(f"clip-{c.id}", f"{_('Clip')} {c.exhibit_number} · {c.title}") for c in clips
    ] + [SelectChoice(f"diagram-{d.id}", f"{_('Diagram')} · {d.title}") for d in diagrams]


@blueprint.get("/<int:hearing_id>")
@allow(*HEARING_VIEWERS)
def detail(hearing_id: int) -> str:
    hearing = visible_hearing(hearing_id)
    record("view_hearing", detail={"hearing_id": hearing.id})
    return _detail_page(hearing, ExhibitForm())


def clip_case(clip: Clip) -> str:
    """The case number the clip's session was recorded under ("" if not catalogued)."""
    summary = session_index().get(clip.session_id)
    return summary.case_number if summary else ""


def _cases(hearing: Hearing) -> dict[int, str]:
    """Exhibit id → the case its clip was recorded under ("" when not catalogued)."""
    return {entry.id: clip_case(entry.clip) for entry in hearing.exhibits if entry.clip}


def _on_screen(hearing: Hearing) -> int | None:
    """The exhibit the court screen shows now (None: nothing, or the screen is blanked)."""
    # Read in the request's own session: no second connection to wait on a writer.
    row = db.session.get(PresentationState, hearing.id)
    state = json.loads(row.state) if row is not None else presentation.empty_state()
    exhibit = state.get("exhibit") or {}
    if state.get("blank") or not isinstance(exhibit.get("id"), int):
        return None
    return int(exhibit["id"])


def _other_cases(hearing: Hearing) -> dict[int, str]:
    """Exhibit id → the other case its clip is of, for the clips not of the hearing's case."""
    found: dict[int, str] = {}
    for entry in hearing.exhibits:
        case = clip_case(entry.clip) if entry.clip else hearing.case_number
        if case != hearing.case_number:
            found[entry.id] = case
    return found


def _detail_page(hearing: Hearing, form: ExhibitForm, ask_other_case: str = "") -> str:
    form.item.choices = _choices(hearing) if can_manage_hearings() else []
    return render_template(
        "courtroom/hearing.html",
        hearing=hearing,
        exhibits=hearing.exhibits,
        other_cases=_other_cases(hearing),
        cases=_cases(hearing),
        on_screen=_on_screen(hearing),
        ask_other_case=ask_other_case,
        form=form,
        move_form=MoveForm(),
        confirm_form=ConfirmForm(),
        can_manage=can_manage_hearings(),
    )


def _item(hearing: Hearing, value: str) -> tuple[Clip | None, Diagram | None]:
    kind, _sep, ident = value.partition("-")
    if kind not in ("clip", "diagram") or not ident.isdigit():
        abort(400)
    clip = visible_clip(int(ident)) if kind == "clip" else None
    diagram = visible_diagram(int(ident)) if kind == "diagram" else None
    unit = (clip or diagram).unit_code  # type: ignore[union-attr]
    if unit not in hearing_units(hearing):
        abort(404)  # of a unit that cannot see this hearing: not for this list
    return clip, diagram


@blueprint.post("/<int:hearing_id>/exhibits")
@allow(*HEARING_MANAGERS)
def add_exhibit(hearing_id: int) -> Response | tuple[str, int]:
    hearing = visible_hearing(hearing_id)
    form = ExhibitForm()
    if not form.validate_on_submit():
        for message in errors_of(form) if form.item.data else [_("Choose an exhibit.")]:
            flash(message, "error")
        return _detail_page(hearing, form), 400
    clip, diagram = _item(hearing, form.item.data or "")
    number = (form.exhibit_number.data or "").strip() or (clip.exhibit_number if clip else "")
    if not number:
        flash(_("Give the exhibit a number."), "error")
        return _detail_page(hearing, form), 400
    if any(e.exhibit_number == number for e in hearing.exhibits):
        flash(_("Exhibit number %(n)s is already on this hearing's list.", n=number), "error")
        return _detail_page(hearing, form), 400
    case = clip_case(clip) if clip else hearing.case_number
    if case != hearing.case_number and not form.other_case.data:
        message = _(
            "Clip %(n)s is of case %(case)s, not of this hearing's case %(hearing_case)s. "
            "Confirm to add it anyway.",
            n=number,
            case=case or "—",
            hearing_case=hearing.case_number,
        )
        flash(message, "error")
        return _detail_page(hearing, form, ask_other_case=case or "—"), 409
    entry = HearingExhibit(
        hearing_id=hearing.id,
        position=len(hearing.exhibits),
        exhibit_number=number,
        clip_id=clip.id if clip else None,
        diagram_id=diagram.id if diagram else None,
    )
    db.session.add(entry)
    db.session.commit()
    detail = _described(hearing, entry)
    if case != hearing.case_number:
        detail["other_case"] = case  # added knowingly, after the confirmation
    record(
        "hearing_exhibit_added",
        session_id=clip.session_id if clip else None,
        detail=detail,
    )
    flash(_("Exhibit %(n)s added to the list.", n=number), "ok")
    return redirect(url_for("courtroom.detail", hearing_id=hearing.id))


def _described(hearing: Hearing, entry: HearingExhibit) -> dict[str, Any]:
    return {
        "hearing_id": hearing.id,
        "exhibit_id": entry.id,
        "exhibit_number": entry.exhibit_number,
        "clip_id": entry.clip_id,
        "diagram_id": entry.diagram_id,
    }


def _entry(hearing: Hearing, exhibit_id: int) -> HearingExhibit:
    for entry in hearing.exhibits:
        if entry.id == exhibit_id:
            return entry
    abort(404)


@blueprint.post("/<int:hearing_id>/exhibits/<int:exhibit_id>/move")
@allow(*HEARING_MANAGERS)
def move_exhibit(hearing_id: int, exhibit_id: int) -> Response:
    hearing = visible_hearing(hearing_id)
    entry = _entry(hearing, exhibit_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    order = list(hearing.exhibits)
    at = order.index(entry)
    to = at - 1 if form.direction.data == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
        for position, item in enumerate(order):
            item.position = position
        db.session.commit()
        record(
            "hearing_exhibit_moved",
            detail={**_described(hearing, entry), "position": to},
        )
    return redirect(url_for("courtroom.detail", hearing_id=hearing.id, _anchor="exhibits"))


@blueprint.post("/<int:hearing_id>/exhibits/<int:exhibit_id>/remove")
@allow(*HEARING_MANAGERS)
def remove_exhibit(hearing_id: int, exhibit_id: int) -> Response:
    hearing = visible_hearing(hearing_id)
    entry = _entry(hearing, exhibit_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    described = _described(hearing, entry)
    session_id = entry.clip.session_id if entry.clip else None
    db.session.delete(entry)
    db.session.flush()
    db.session.expire(hearing, ["exhibits"])
    for position, item in enumerate(hearing.exhibits):
        item.position = position
    db.session.commit()
    record("hearing_exhibit_removed", session_id=session_id, detail=described)
    # Off the screen too, decided inside the versioned edit (no gap for a "show" to slip
    # into). The entry is gone first, so a "show" of it landing later withdraws itself.
    result = presentation.change(
        hearing.id, commands.withdraw(presentation.now_ms(), only=described["exhibit_id"])
    )
    if result.changed:
        record("present_withdraw", session_id=session_id, detail={**described, "removed": True})
    return redirect(url_for("courtroom.detail", hearing_id=hearing.id, _anchor="exhibits"))
