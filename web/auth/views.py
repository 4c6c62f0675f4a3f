"""Logging in and out. Failures are throttled, counted, locked out, and logged in custody."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
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

from web.access import allow, public
from web.audit import record
from web.auth.accounts import LoginRefused, authenticate
from web.evidence import console_settings
from web.extensions import limiter
from web.forms import LoginForm
from web.roles import ALL_ROLES, Role

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
        try:
            user = authenticate(
                username,
                form.password.data or "",
                max_failures=settings.max_failed_logins,
                lockout=timedelta(minutes=settings.lockout_minutes),
            )
        except LoginRefused as refused:
            record(
                "login_failed",
                actor=username[:64] or "?",
                role="none",
                detail={"reason": str(refused)},
            )
            flash(_("Wrong username or password, or the account is locked."), "error")
            return render_template("auth/login.html", form=form), 401
        # A fresh session on every login: nothing from before survives (no fixation).
        language = session.get("lang")
        session.clear()
        if language:
            session["lang"] = language
        login_user(user)
        session.permanent = True
        record("login")
        return redirect(safe_next(form.next.data) or url_for("auth.landing"))
    return render_template("auth/login.html", form=form)


@blueprint.post("/logout")
@allow(*ALL_ROLES)
def logout() -> Response:
    record("logout")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.get("/start")
@allow(*ALL_ROLES)
def landing() -> Response:
    return redirect(url_for(LANDING[current_user.role_enum]))
