"""Administration of accounts: create, reset a password, unlock, disable and enable (with a
confirmation, and a way back), change role or unit; and the changes waiting for a second
administrator, which auditors see too. Every action is a custody event (``web.auth``)."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from evidence_store import UsageError
from web import auth
from web.access import allow
from web.admin.views import blueprint
from web.auth import approvals, backoff
from web.display import ROLE_LABELS
from web.evidence import console_settings
from web.extensions import db
from web.forms import ConfirmForm, PlainText, UnitField, errors_of
from web.labels import spoken
from web.models import User
from web.roles import Role
from web.visibility import visible_units

ROLE_CHOICES = [SelectChoice(r.value, ROLE_LABELS[r.value]) for r in Role]  # names shown


class UserForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=64), PlainText()])
    display_name = StringField(validators=[Optional(), Length(max=200), PlainText()])
    role = SelectField(choices=ROLE_CHOICES)
    unit = UnitField()
    password = PasswordField(validators=[DataRequired(), Length(max=256)])


class PasswordResetForm(FlaskForm):
    password = PasswordField(validators=[DataRequired(), Length(max=256)])


class RoleForm(FlaskForm):
    role = SelectField(choices=ROLE_CHOICES)


class UnitChangeForm(FlaskForm):
    unit = UnitField()


class DisableForm(FlaskForm):
    confirm = HiddenField(validators=[DataRequired(), AnyOf(["yes"])])


def _actor() -> auth.Actor:
    return auth.Actor(current_user.username, current_user.role)


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _back(user: User) -> Response:
    return redirect(url_for("admin.user", user_id=user.id))


@blueprint.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def users() -> ResponseReturnValue:
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.create_account(
                _actor(),
                console_settings(),
                (form.username.data or "").strip().lower(),
                role=form.role.data,
                unit=(form.unit.data or "").strip(),
                password=form.password.data or "",
                display_name=(form.display_name.data or "").strip(),
            )
        except UsageError as exc:
            flash(spoken(str(exc)), "error")
            status = 400
        else:
            if user.approved:
                flash(_("User created. The password must be changed at the first login."), "ok")
            else:
                flash(_("User created; it waits for a second administrator's approval."), "ok")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        for message in errors_of(form) or [_("Check the form: every field is required.")]:
            flash(message, "error")
        status = 400
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", form=form, users=rows), status


@blueprint.get("/users/<int:user_id>")
@allow(Role.ADMIN)
def user(user_id: int) -> str:
    account = _user(user_id)
    return render_template(
        "admin/user.html",
        account=account,
        waiting=backoff.waiting_addresses(account.username),
        pending=approvals.pending_change(account),
        password_form=PasswordResetForm(),
        role_form=RoleForm(role=account.role),
        unit_form=UnitChangeForm(unit=account.unit.code),
        confirm=ConfirmForm(),
    )


def _act(account: User, action: str, run: Callable[[], object]) -> Response:
    """Run an account action; its refusal is shown on the account's page."""
    try:
        result = run()
    except UsageError as exc:
        flash(spoken(str(exc)), "error")
        return _back(account)
    if result is False:
        flash(_("Requested: it waits for a second administrator's approval."), "ok")
    else:
        flash(action, "ok")
    return _back(account)


@blueprint.post("/users/<int:user_id>/password")
@allow(Role.ADMIN)
def reset_password(user_id: int) -> Response:
    account = _user(user_id)
    form = PasswordResetForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(
        account,
        _("Password set. It must be changed at the next login; the account's sessions ended."),
        lambda: auth.reset_password(
            _actor(), console_settings(), account, form.password.data or ""
        ),
    )


@blueprint.post("/users/<int:user_id>/unlock")
@allow(Role.ADMIN)
def unlock(user_id: int) -> Response:
    account = _user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _act(account, _("Unlocked."), lambda: auth.unlock(_actor(), account))


@blueprint.route("/users/<int:user_id>/disable", methods=["GET", "POST"])
@allow(Role.ADMIN)
def disable(user_id: int) -> ResponseReturnValue:
    """Asks first; the account can be enabled again."""
    account = _user(user_id)
    form = DisableForm()
    if request.method == "GET":
        form.confirm.data = "yes"
        return render_template("admin/disable.html", account=account, form=form)
    if not form.validate_on_submit():
        abort(400)
    return _act(
        account,
        _("Disabled: the account's sessions ended. Enable it to undo."),
        lambda: auth.disable(_actor(), account),
    )


@blueprint.post("/users/<int:user_id>/enable")
@allow(Role.ADMIN)
def enable(user_id: int) -> Response:
    account = _user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _act(account, _("Enabled."), lambda: auth.enable(_actor(), account))


@blueprint.post("/users/<int:user_id>/role")
@allow(Role.ADMIN)
def change_role(user_id: int) -> Response:
    account = _user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(
        account,
        _("Role changed."),
        lambda: auth.set_role(_actor(), console_settings(), account, form.role.data),
    )


@blueprint.post("/users/<int:user_id>/unit")
@allow(Role.ADMIN)
def change_unit(user_id: int) -> ResponseReturnValue:
    account = _user(user_id)
    form = UnitChangeForm()
    if not form.validate_on_submit():
        for message in errors_of(form):
            flash(message, "error")
        return user(user_id), 400  # the account's page, with why
    return _act(
        account,
        _("Unit changed."),
        lambda: auth.set_unit(
            _actor(), console_settings(), account, (form.unit.data or "").strip()
        ),
    )


@blueprint.get("/approvals")
@allow(Role.ADMIN, Role.AUDITOR)
def approvals_list() -> str:
    """Changes that give access to evidence: waiting ones for administrators to decide, and
    all of them for auditors to see (those about their units)."""
    rows = approvals.changes()
    if current_user.role_enum is Role.AUDITOR:
        units = visible_units(current_user)
        rows = [r for r in rows if r.unit.code in units or r.user.unit.code in units]
    return render_template(
        "admin/approvals.html",
        rows=rows,
        confirm=ConfirmForm(),
        can_decide=current_user.role_enum is Role.ADMIN,
    )


@blueprint.post("/approvals/<int:change_id>/<decision>")
@allow(Role.ADMIN)
def decide(change_id: int, decision: str) -> Response:
    if decision not in ("approve", "refuse"):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        auth.decide_change(change_id, approve=decision == "approve", actor=_actor())
    except UsageError as exc:
        flash(spoken(str(exc)), "error")
    else:
        flash(_("Approved.") if decision == "approve" else _("Refused."), "ok")
    return redirect(url_for("admin.approvals_list"))
