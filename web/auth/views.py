"""Logging in and out, changing one's password, and one's own login sessions.

Failures are throttled per address, counted per username and address (back-off), and
logged in custody. A wrong current password when changing one's password is a failed login
too: the same back-off, a custody event, and after ``max_failed_logins`` of them the login
session ends, so a borrowed or stolen session cannot be used to guess the password. A login
is a session kept on the server (``web.auth.sessions``): logging out ends it there, so its
cookie is worth nothing afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask.wrappers import Response as FlaskResponse
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from evidence_store import UsageError
from web.access import allow, public
from web.audit import record
from web.auth import accounts, backoff, sessions
from web.auth.login import Attempt, LoginRefused, authenticate
from web.evidence import console_settings
from web.extensions import db, limiter
from web.forms import ConfirmForm, LoginForm, PasswordChangeForm
from web.models import LoginSession
from web.roles import ALL_ROLES, Role
from web.settings import ConsoleSettings

blueprint = Blueprint("auth", __name__)

LANDING = {
    Role.INVESTIGATOR: "terminal.rooms",
    Role.PROSECUTOR: "review.sessions",
    Role.COURT_CLERK: "review.sessions",
    Role.SUPERVISOR: "review.sessions",
    Role.AUDITOR: "custody.overview",
    Role.ADMIN: "admin.users",
}


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no '//' or backslash tricks."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def _login_rate() -> str:
    settings = console_settings()
    return f"{settings.login_attempts_per_minute} per minute"


def _throttled(limit: RequestLimit) -> FlaskResponse:
    record("login_throttled", actor="anonymous", role="none", detail={"limit": str(limit)})
    flash(_("Too many login attempts from this address. Wait a minute."), "error")
    return make_response(render_template("auth/login.html", form=LoginForm()), 429)


def _address() -> str:
    return request.remote_addr or ""


@blueprint.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_rate, methods=["POST"], on_breach=_throttled)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        settings = console_settings()
        username = (form.username.data or "").strip().lower()
        attempt = Attempt(username=username, password=form.password.data or "", address=_address())
        try:
            user = authenticate(attempt, settings)
        except LoginRefused as refused:
            record(
                "login_failed",
                actor=username[:64] or "?",
                role="none",
                detail={"reason": str(refused)[:300]},
            )
            if refused.directory_down:
                flash(
                    _(
                        "The directory cannot be reached, so directory accounts cannot log in "
                        "now. Local accounts still can."
                    ),
                    "error",
                )
            else:
                flash(_("Wrong username or password, or the account is locked."), "error")
            return render_template("auth/login.html", form=form), 401
        # A fresh session on every login: nothing from before survives (no fixation).
        language = session.get("lang")
        session.clear()
        if language:
            session["lang"] = language
        sessions.open_session(
            user, address=_address(), user_agent=(request.user_agent.string or "")
        )
        login_user(user)
        session.permanent = True
        record("login", detail={"login_id": user.login_id})
        if user.must_change_password:
            return redirect(url_for("auth.change_password"))
        return redirect(safe_next(form.next.data) or url_for("auth.landing"))
    return render_template("auth/login.html", form=form)


def _end_session(reason: str) -> None:
    token = current_user.login_token
    logout_user()
    session.clear()
    if token:
        sessions.revoke_token(token, reason)


@blueprint.post("/logout")
@allow(*ALL_ROLES)
def logout() -> Response:
    record("logout", detail={"login_id": current_user.login_id})
    _end_session(sessions.LOGOUT)
    return redirect(url_for("auth.login"))


@blueprint.get("/start")
@allow(*ALL_ROLES)
def landing() -> Response:
    return redirect(url_for(LANDING[current_user.role_enum]))


@blueprint.route("/account/password", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def change_password() -> ResponseReturnValue:
    """A person's own password; required before anything else after an administrator set it."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if form.new_password.data != form.repeat.data:
            flash(_("The two new passwords differ."), "error")
            return render_template("auth/password.html", form=form), 400
        settings, now = console_settings(), datetime.now(UTC)
        if backoff.waiting(current_user.username, _address(), now):
            record("password_change_refused", detail={"reason": "account locked"})
            flash(_("Too many wrong passwords. Wait before you try again."), "error")
            return render_template("auth/password.html", form=form), 429
        try:
            accounts.change_own_password(
                settings,
                current_user,
                form.current_password.data or "",
                form.new_password.data or "",
            )
        except accounts.WrongPassword:
            return _wrong_current_password(settings, now, form)
        except UsageError as refused:
            flash(_("Password not changed: %(why)s", why=str(refused)), "error")
            return render_template("auth/password.html", form=form), 400
        backoff.forget(current_user.username, _address())
        db.session.commit()
        flash(_("Password changed. Your other sessions have ended."), "ok")
        return redirect(url_for("auth.landing"))
    if request.method == "POST":
        flash(_("Fill in every field."), "error")
        return render_template("auth/password.html", form=form), 400
    return render_template("auth/password.html", form=form)


def _wrong_current_password(
    settings: ConsoleSettings, now: datetime, form: PasswordChangeForm
) -> ResponseReturnValue:
    """Count it as a failed login; after too many, end this login session."""
    failures = backoff.note_failure(current_user.username, _address(), settings, now)
    db.session.commit()
    record("password_change_failed", detail={"reason": "wrong current password"})
    if failures >= settings.max_failed_logins:
        record("logout", detail={"login_id": current_user.login_id, "reason": "wrong passwords"})
        _end_session(sessions.WRONG_PASSWORDS)
        flash(_("Too many wrong passwords: you have been logged out."), "error")
        return redirect(url_for("auth.login"))
    flash(_("Password not changed: %(why)s", why=_("the current password is not right")), "error")
    return render_template("auth/password.html", form=form), 400


@blueprint.get("/account/sessions")
@allow(*ALL_ROLES)
def my_sessions() -> str:
    """Where this account is logged in: when, from which address and browser."""
    rows = sessions.live_sessions(current_user.id, console_settings())
    return render_template(
        "auth/sessions.html", rows=rows, current=current_user.login_id, confirm=ConfirmForm()
    )


@blueprint.post("/account/sessions/<int:login_id>/end")
@allow(*ALL_ROLES)
def end_session(login_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = db.session.get(LoginSession, login_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    record("logout", detail={"login_id": row.id, "by": "own sessions page"})
    if row.id == current_user.login_id:
        _end_session(sessions.ENDED_BY_USER)
        return redirect(url_for("auth.login"))
    sessions.revoke_one(row, sessions.ENDED_BY_USER)
    db.session.commit()
    return redirect(url_for("auth.my_sessions"))


@blueprint.post("/account/sessions/end-all")
@allow(*ALL_ROLES)
def logout_everywhere() -> Response:
    """End every session of this account, this one included."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = sessions.revoke_all(current_user.id, sessions.EVERYWHERE)
    db.session.commit()
    record("logout_everywhere", detail={"sessions_ended": ended})
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
