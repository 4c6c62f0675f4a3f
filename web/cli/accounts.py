"""``sealroom users create|passwd|unlock|disable|enable|set-role|set-unit|approve|refuse`` and
``sealroom units create``, and the first administrator that ``sealroom run`` creates.

The same rules as the console (``web.auth``): the password policy, a password set here is
changed at the next login, and whatever opens a path to evidence waits for a second
administrator. A change asked for here names the operator (the process's account
``user@host``). Deciding one takes a console administrator: ``approve --as USER`` reads that
administrator's password from standard input and checks it like a login (the same waits
after failures), and that administrator must not be the one who asked. An environment
variable is not a second person. Each action is a custody event.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask
from sqlalchemy import func, select

from evidence_store import UsageError
from evidence_store.cli import (
    PLAIN_TEXT,
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from web import auth
from web.app import create_app
from web.audit import record
from web.auth import approvals
from web.extensions import db
from web.models import User
from web.roles import Role
from web.settings import ConsoleSettings, settings_in

F = TypeVar("F", bound=Callable[..., Any])
ADMIN_ROLE = "admin"  # the role the custody log gives an operator administering accounts


def _actor() -> auth.Actor:
    return auth.Actor(operator(), ADMIN_ROLE)


def _password_from_stdin() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password on standard input")
    return password


def _console(ctx: click.Context, data_dir: Path | None) -> tuple[Flask, ConsoleSettings]:
    settings = settings_in(ctx.meta)
    return create_app(data_dir_from(ctx, data_dir), settings), settings


def _username_option(func: F) -> F:
    return click.option("--username", required=True, help="The account's username.")(func)


def _done(as_json: bool, result: dict[str, Any], text: str) -> None:
    if as_json:
        emit_json(result)
    else:
        click.echo(text)


@click.group()
def users() -> None:
    """Console user accounts."""


@users.command("create")
@_username_option
@click.option(
    "--role",
    required=True,
    help="investigator, prosecutor, court_clerk, supervisor, auditor or admin",
)
@click.option("--unit", required=True, type=PLAIN_TEXT, help="Unit code, e.g. supreme or hanoi.")
@click.option("--name", "display_name", type=PLAIN_TEXT, default="", help="Full name as shown.")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from standard input (never from an argument).",
)
@data_dir_option
@json_option
@click.pass_context
def create_user_command(
    ctx: click.Context,
    username: str,
    role: str,
    unit: str,
    display_name: str,
    password_stdin: bool,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Create a user; the password comes from standard input and is changed at first login."""
    password = _password_from_stdin()
    app, settings = _console(ctx, data_dir)
    with app.app_context():
        user = auth.create_account(
            _actor(),
            settings,
            username.strip().lower(),
            role=role,
            unit=unit,
            password=password,
            display_name=display_name,
        )
        result = {
            "username": user.username,
            "role": user.role,
            "unit": user.unit.code,
            "awaiting_approval": not user.approved,
        }
    waits = " (waiting for a second administrator's approval)" if not user.approved else ""
    _done(as_json, result, f"created {result['role']} {result['username']} in unit {unit}{waits}")


def _on_user(
    ctx: click.Context,
    data_dir: Path | None,
    username: str,
    action: Callable[[auth.Actor, ConsoleSettings, User], object],
) -> object:
    app, settings = _console(ctx, data_dir)
    with app.app_context():
        return action(_actor(), settings, auth.user_by_name(username.strip().lower()))


@users.command("passwd")
@_username_option
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the new password from stdin."
)
@data_dir_option
@json_option
@click.pass_context
def passwd_command(
    ctx: click.Context, username: str, password_stdin: bool, data_dir: Path | None, as_json: bool
) -> None:
    """Set a new password: it must be changed at the next login; the sessions end."""
    password = _password_from_stdin()
    applied = _on_user(
        ctx, data_dir, username, lambda a, s, u: auth.reset_password(a, s, u, password)
    )
    waits = "" if applied else " (waiting for a second administrator's approval)"
    _done(
        as_json,
        {"username": username, "must_change_password": True, "awaiting_approval": not applied},
        f"password set: {username}{waits}",
    )


@users.command("unlock")
@_username_option
@data_dir_option
@json_option
@click.pass_context
def unlock_command(ctx: click.Context, username: str, data_dir: Path | None, as_json: bool) -> None:
    """Clear the waits after failed logins, from every address."""
    cleared = _on_user(ctx, data_dir, username, lambda a, _s, u: auth.unlock(a, u))
    _done(as_json, {"username": username, "addresses": cleared}, f"unlocked: {username}")


@users.command("disable")
@_username_option
@data_dir_option
@json_option
@click.pass_context
def disable_command(
    ctx: click.Context, username: str, data_dir: Path | None, as_json: bool
) -> None:
    """The account can no longer log in and its sessions end (``enable`` undoes it)."""
    _on_user(ctx, data_dir, username, lambda a, _s, u: auth.disable(a, u))
    _done(as_json, {"username": username, "active": False}, f"disabled: {username}")


@users.command("enable")
@_username_option
@data_dir_option
@json_option
@click.pass_context
def enable_command(ctx: click.Context, username: str, data_dir: Path | None, as_json: bool) -> None:
    """Let a disabled account log in again."""
    _on_user(ctx, data_dir, username, lambda a, _s, u: auth.enable(a, u))
    _done(as_json, {"username": username, "active": True}, f"enabled: {username}")


@users.command("set-role")
@_username_option
@click.option("--role", required=True, help="The new role.")
@data_dir_option
@json_option
@click.pass_context
def set_role_command(
    ctx: click.Context, username: str, role: str, data_dir: Path | None, as_json: bool
) -> None:
    """Give the account a new role (one that reads evidence waits for a second admin)."""
    applied = _on_user(ctx, data_dir, username, lambda a, s, u: auth.set_role(a, s, u, role))
    _changed(as_json, username, "role", role, bool(applied))


@users.command("set-unit")
@_username_option
@click.option("--unit", required=True, type=PLAIN_TEXT, help="The new unit's code.")
@data_dir_option
@json_option
@click.pass_context
def set_unit_command(
    ctx: click.Context, username: str, unit: str, data_dir: Path | None, as_json: bool
) -> None:
    """Move the account to another unit (one that reads evidence waits for a second admin)."""
    applied = _on_user(ctx, data_dir, username, lambda a, s, u: auth.set_unit(a, s, u, unit))
    _changed(as_json, username, "unit", unit, bool(applied))


def _changed(as_json: bool, username: str, what: str, value: str, applied: bool) -> None:
    waits = "" if applied else " (waiting for a second administrator's approval)"
    _done(
        as_json,
        {"username": username, what: value, "awaiting_approval": not applied},
        f"{what} of {username}: {value}{waits}",
    )


CLI_ADDRESS = "command line"  # where a decision's login is counted for the back-off


def _administrator(username: str, password: str, settings: ConsoleSettings) -> auth.Actor:
    """The console administrator deciding at the command line, checked like a login."""
    attempt = auth.Attempt(
        username=username.strip().lower(), password=password, address=CLI_ADDRESS
    )
    try:
        user = auth.authenticate(attempt, settings)
    except auth.LoginRefused as refused:
        record(
            "login_failed",
            actor=attempt.username[:64] or "?",
            role="none",
            detail={"reason": str(refused)[:300], "via": "command line", "os_user": operator()},
        )
        raise UsageError(
            f"{attempt.username}: wrong username or password, or the account is locked"
        ) from refused
    if user.role != Role.ADMIN.value:
        raise UsageError(f"{user.username} is not an administrator")
    return auth.Actor(user.username, user.role)


def _decide(
    ctx: click.Context, data_dir: Path | None, change_id: int, approve: bool, as_user: str
) -> None:
    password = _password_from_stdin()
    app, settings = _console(ctx, data_dir)
    with app.app_context():
        actor = _administrator(as_user, password, settings)
        auth.decide_change(
            change_id,
            approve=approve,
            actor=actor,
            detail={"via": "command line", "os_user": operator()},
        )


def _as_option(func: F) -> F:
    return click.option(
        "--as",
        "as_user",
        required=True,
        type=PLAIN_TEXT,
        help="The console administrator deciding; their password is read from standard input.",
    )(func)


@users.command("approve")
@click.option("--change", "change_id", type=int, required=True, help="The change's number.")
@_as_option
@data_dir_option
@json_option
@click.pass_context
def approve_command(
    ctx: click.Context, change_id: int, as_user: str, data_dir: Path | None, as_json: bool
) -> None:
    """Approve a change another administrator asked for (the two-person rule)."""
    _decide(ctx, data_dir, change_id, approve=True, as_user=as_user)
    _done(as_json, {"change": change_id, "status": approvals.APPROVED}, f"approved: {change_id}")


@users.command("refuse")
@click.option("--change", "change_id", type=int, required=True, help="The change's number.")
@_as_option
@data_dir_option
@json_option
@click.pass_context
def refuse_command(
    ctx: click.Context, change_id: int, as_user: str, data_dir: Path | None, as_json: bool
) -> None:
    """Refuse a change another administrator asked for."""
    _decide(ctx, data_dir, change_id, approve=False, as_user=as_user)
    _done(as_json, {"change": change_id, "status": approvals.REFUSED}, f"refused: {change_id}")


@click.group()
def units() -> None:
    """Units: supreme, then provinces, then districts."""


@units.command("create")
@click.option("--code", required=True)
@click.option("--parent", required=True, help="The parent unit's code.")
@click.option("--name", type=PLAIN_TEXT, default=None)
@data_dir_option
@json_option
@click.pass_context
def create_unit_command(
    ctx: click.Context,
    code: str,
    parent: str,
    name: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Add a unit under PARENT."""
    app, _settings = _console(ctx, data_dir)
    with app.app_context():
        unit = auth.create_unit(code.strip(), parent=parent.strip(), name=name)
        record(
            "unit_created",
            actor=operator(),
            role=ADMIN_ROLE,
            detail={"code": unit.code, "parent": parent},
        )
    _done(as_json, {"code": code, "parent": parent}, f"created unit {code} under {parent}")


def ensure_first_admin(app: Flask) -> str | None:
    """Create ``admin`` with a random password if there is no user at all. It is one-time
    for real: it must be changed at the first login."""
    with app.app_context():
        if db.session.scalar(select(func.count()).select_from(User)):
            return None
        password = secrets.token_urlsafe(16)
        auth.create_user(
            "admin",
            role="admin",
            unit="supreme",
            password=password,
            display_name="Administrator",
            must_change=True,
        )
        record(
            "user_created",
            actor=operator(),
            role=ADMIN_ROLE,
            detail={"username": "admin", "role": "admin", "unit": "supreme"},
        )
        return password


COMMANDS = [users, units]
