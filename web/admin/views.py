"""Administration: users, units and rooms. The administrator never sees evidence.

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
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import URL, DataRequired, Length, Optional

from evidence_store import UsageError
from web.access import allow
from web.audit import record
from web.auth import create_unit, create_user
from web.extensions import db
from web.forms import ConfirmForm
from web.models import Room, Unit, User
from web.recorders import check_recorder_url
from web.roles import Role

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


class UserForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=64)])
    display_name = StringField(validators=[Optional(), Length(max=200)])
    role = SelectField(choices=[r.value for r in Role])
    unit = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(min=12, max=256)])


class UnitForm(FlaskForm):
    code = StringField(validators=[DataRequired(), Length(max=64)])
    name = StringField(validators=[Optional(), Length(max=200)])
    parent = StringField(validators=[DataRequired(), Length(max=64)])


class RoomForm(FlaskForm):
    code = StringField(validators=[DataRequired(), Length(max=64)])
    name = StringField(validators=[DataRequired(), Length(max=200)])
    unit = StringField(validators=[DataRequired(), Length(max=64)])
    recorder_url = StringField(validators=[DataRequired(), Length(max=300), URL(require_tld=False)])


class RoomAddressForm(FlaskForm):
    recorder_url = StringField(validators=[DataRequired(), Length(max=300), URL(require_tld=False)])


def _recorder_url(field: StringField) -> str | None:
    """The field's address if it is one a recorder may have (https://), else None, with
    the reason shown."""
    try:
        return check_recorder_url(field.data or "")
    except UsageError as exc:
        flash(str(exc), "error")
        return None


@blueprint.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def users() -> ResponseReturnValue:
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                (form.username.data or "").strip().lower(),
                role=form.role.data,
                unit=(form.unit.data or "").strip(),
                password=form.password.data or "",
                display_name=(form.display_name.data or "").strip(),
            )
        except UsageError as exc:
            flash(str(exc), "error")
        else:
            record(
                "user_created",
                detail={"username": user.username, "role": user.role, "unit": user.unit.code},
            )
            flash(_("User created."), "ok")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        flash(
            _("Check the form: every field is required, the password has 12+ characters."), "error"
        )
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", form=form, users=rows, confirm=ConfirmForm())


@blueprint.post("/users/<int:user_id>/deactivate")
@allow(Role.ADMIN)
def deactivate(user_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    user.active = False
    db.session.commit()
    record("user_deactivated", detail={"username": user.username})
    return redirect(url_for("admin.users"))


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
            flash(str(exc), "error")
        else:
            record("unit_created", detail={"code": unit.code, "parent": form.parent.data})
            return redirect(url_for("admin.units"))
    rows = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    return render_template("admin/units.html", form=form, units=rows)


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
    rows = db.session.scalars(select(Room).order_by(Room.code)).all()
    return render_template(
        "admin/rooms.html", form=form, rooms=rows, address_form=RoomAddressForm()
    )


@blueprint.post("/rooms/<code>/address")
@allow(Role.ADMIN)
def room_address(code: str) -> Response:
    """Point a room at another recorder address: a custody event, old and new."""
    room = db.session.scalar(select(Room).where(Room.code == code))
    if room is None:
        abort(404)
    form = RoomAddressForm()
    if not form.validate_on_submit():
        flash(_("Give the recorder's address as https://host:port."), "error")
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
