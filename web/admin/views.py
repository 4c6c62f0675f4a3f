"""Administration: units and rooms (accounts: ``web.admin.users``). The administrator never
sees evidence.

A room's recorder address is ``https://`` only, and changing it is a custody event: the
console checks the recorder's certificate names the room before it sends anything
(``web.recorders``), so a changed address can never collect another room's token."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import URL, DataRequired, Length, Optional

from evidence_store import UsageError
from web.access import allow
from web.audit import record
from web.auth import create_unit
from web.extensions import db
from web.forms import PlainText, UnitField, errors_of
from web.labels import spoken
from web.models import Room, Unit
from web.recorders import check_recorder_url
from web.roles import Role

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


class UnitForm(FlaskForm):
    code = StringField(validators=[DataRequired(), Length(max=64), PlainText()])
    name = StringField(validators=[Optional(), Length(max=200), PlainText()])
    parent = UnitField()


class RoomForm(FlaskForm):
    code = StringField(validators=[DataRequired(), Length(max=64), PlainText()])
    name = StringField(validators=[DataRequired(), Length(max=200), PlainText()])
    unit = UnitField()
    recorder_url = StringField(
        validators=[DataRequired(), Length(max=300), URL(require_tld=False), PlainText()]
    )


class RoomAddressForm(FlaskForm):
    recorder_url = StringField(
        validators=[DataRequired(), Length(max=300), URL(require_tld=False), PlainText()]
    )


def _recorder_url(field: StringField) -> str | None:
    """The field's address if it is one a recorder may have (https://), else None, with
    the reason shown."""
    try:
        return check_recorder_url(field.data or "")
    except UsageError as exc:
        flash(str(exc), "error")
        return None


@blueprint.route("/units", methods=["GET", "POST"])
@allow(Role.ADMIN)
def units() -> ResponseReturnValue:
    form = UnitForm()
    if form.validate_on_submit():
        try:
            unit = create_unit(
                (form.code.data or "").strip(),
                parent=(form.parent.data or "").strip(),
                name=(form.name.data or "").strip() or None,
            )
        except UsageError as exc:
            flash(spoken(str(exc)), "error")
        else:
            record("unit_created", detail={"code": unit.code, "parent": form.parent.data})
            return redirect(url_for("admin.units"))
    status = _refused(form)
    rows = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    return render_template("admin/units.html", form=form, units=rows), status


@blueprint.route("/rooms", methods=["GET", "POST"])
@allow(Role.ADMIN)
def rooms() -> ResponseReturnValue:
    form = RoomForm()
    if form.validate_on_submit():
        unit = db.session.scalar(select(Unit).where(Unit.code == (form.unit.data or "").strip()))
        code = (form.code.data or "").strip()
        url = _recorder_url(form.recorder_url)
        if url is None:
            pass
        elif unit is None:
            flash(_("Unknown unit."), "error")
        elif db.session.scalar(select(Room).where(Room.code == code)) is not None:
            flash(_("A room with that code exists."), "error")
        else:
            db.session.add(
                Room(
                    code=code,
                    name=(form.name.data or "").strip(),
                    unit=unit,
                    recorder_url=url,
                )
            )
            db.session.commit()
            record("room_created", detail={"code": code, "unit": unit.code, "recorder_url": url})
            return redirect(url_for("admin.rooms"))
    status = _refused(form)
    rows = db.session.scalars(select(Room).order_by(Room.code)).all()
    return render_template(
        "admin/rooms.html", form=form, rooms=rows, address_form=RoomAddressForm()
    ), status


@blueprint.post("/rooms/<code>/address")
@allow(Role.ADMIN)
def room_address(code: str) -> Response:
    """Point a room at another recorder address: a custody event, old and new."""
    room = db.session.scalar(select(Room).where(Room.code == code))
    if room is None:
        abort(404)
    form = RoomAddressForm()
    if not form.validate_on_submit():
        for message in errors_of(form) or [_("Give the recorder's address as https://host:port.")]:
            flash(message, "error")
        return redirect(url_for("admin.rooms"))
    url = _recorder_url(form.recorder_url)
    if url is not None and url != room.recorder_url:
        previous = room.recorder_url
        room.recorder_url = url
        db.session.commit()
        record(
            "room_address_changed",
            detail={"room": room.code, "from": previous, "to": url},
        )
        flash(_("The room's recorder address was changed."), "ok")
    return redirect(url_for("admin.rooms"))


def _refused(form: FlaskForm) -> int:
    """400 with each problem shown, for a form sent and refused; 200 otherwise."""
    if request.method != "POST":
        return 200
    for message in errors_of(form):
        flash(message, "error")
    return 400
