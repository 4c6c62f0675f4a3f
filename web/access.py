"""Every route states who may use it; anything unstated is refused.

``@allow(Role.PROSECUTOR, ...)`` admits those roles; ``@public`` admits anyone (the login page);
``@rooms`` admits a room appliance signed in with its own credential, and no user
(``web.room_credential``: the catalog's ingest).
A ``before_request`` hook enforces the rule of the matched endpoint, so a view cannot forget
to check, and every denial is written to the custody log. A person whose password an
administrator set reaches nothing but the page to change it (and logging out) until they do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from web.audit import record
from web.roles import Role
from web.room_credential import sign_in_room

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
ROOMS = "rooms"
RULE_ATTRIBUTE = "_sealroom_access"
# What a person who must change their password may still reach.
BEFORE_PASSWORD_CHANGE = frozenset(
    {"auth.change_password", "auth.logout", "auth.my_sessions", "auth.logout_everywhere"}
)


def allow(*roles: Role) -> Callable[[F], F]:
    """Admit only these roles (who must be logged in)."""
    if not roles:
        raise ValueError("name at least one role; use @public for open routes")

    def mark(view: F) -> F:
        setattr(view, RULE_ATTRIBUTE, frozenset(roles))
        return view

    return mark


def public(view: F) -> F:
    setattr(view, RULE_ATTRIBUTE, PUBLIC)
    return view


def rooms(view: F) -> F:
    """Admit a room appliance that presents its own room's credential (users never)."""
    setattr(view, RULE_ATTRIBUTE, ROOMS)
    return view


def rule_of(app: Flask, endpoint: str) -> frozenset[Role] | str | None:
    """The rule of ``endpoint``: a set of roles, PUBLIC, ROOMS, or None (refused)."""
    if endpoint == "static":
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, RULE_ATTRIBUTE, None)


def init_access(app: Flask) -> None:
    @app.before_request
    def enforce() -> Response | None:
        if request.endpoint is None:  # 404/405: nothing to protect
            return None
        rule = rule_of(app, request.endpoint)
        if rule == PUBLIC:
            return None
        if rule == ROOMS:
            if sign_in_room() is None:
                abort(401)
            return None
        if not current_user.is_authenticated:
            if request.method == "GET" and request.accept_mimetypes.accept_html:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            abort(401)
        if not isinstance(rule, frozenset) or current_user.role_enum not in rule:
            record(
                "access_denied",
                detail={
                    "endpoint": request.endpoint,
                    "path": request.path[:300],
                    "method": request.method,
                },
                denial=True,
            )
            abort(403)
        if current_user.must_change_password and request.endpoint not in BEFORE_PASSWORD_CHANGE:
            if request.method == "GET" and request.accept_mimetypes.accept_html:
                return redirect(url_for("auth.change_password"))
            abort(403)
        return None
