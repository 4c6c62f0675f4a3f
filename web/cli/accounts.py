"""``sealroom users create`` and ``sealroom units create``, and the first administrator that
``sealroom run`` creates."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import func, select

from evidence_store import UsageError
from evidence_store.cli import data_dir_from, data_dir_option, emit_json, json_option
from web.app import create_app
from web.audit import record
from web.auth import create_unit, create_user
from web.extensions import db
from web.models import User
from web.settings import settings_in

ADMIN_ACTOR = "cli"  # the custody log's actor for administration at the command line


@click.group()
def users() -> None:
    """Console user accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option(
    "--role",
    required=True,
    help="investigator, prosecutor, court_clerk, supervisor, auditor or admin",
)
@click.option("--unit", required=True, help="Unit code, e.g. supreme or hanoi.")
@click.option("--name", "display_name", default="", help="Full name as shown.")
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
    """Create a user; the password comes from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password on standard input")
    app = create_app(data_dir_from(ctx, data_dir), settings_in(ctx.meta))
    with app.app_context():
        user = create_user(
            username.strip().lower(),
            role=role,
            unit=unit,
            password=password,
            display_name=display_name,
        )
        record(
            "user_created",
            actor=ADMIN_ACTOR,
            role="admin",
            detail={"username": user.username, "role": user.role, "unit": unit},
        )
        result = {"username": user.username, "role": user.role, "unit": unit}
    if as_json:
        emit_json(result)
    else:
        click.echo(f"created {result['role']} {result['username']} in unit {unit}")


@click.group()
def units() -> None:
    """Units: supreme, then provinces, then districts."""


@units.command("create")
@click.option("--code", required=True)
@click.option("--parent", required=True, help="The parent unit's code.")
@click.option("--name", default=None)
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
    app = create_app(data_dir_from(ctx, data_dir), settings_in(ctx.meta))
    with app.app_context():
        unit = create_unit(code.strip(), parent=parent.strip(), name=name)
        record(
            "unit_created",
            actor=ADMIN_ACTOR,
            role="admin",
            detail={"code": unit.code, "parent": parent},
        )
    if as_json:
        emit_json({"code": code, "parent": parent})
    else:
        click.echo(f"created unit {code} under {parent}")


def ensure_first_admin(app: Flask) -> str | None:
    """Create ``admin`` with a one-time random password if there is no user at all."""
    with app.app_context():
        if db.session.scalar(select(func.count()).select_from(User)):
            return None
        password = secrets.token_urlsafe(12)
        create_user(
            "admin", role="admin", unit="supreme", password=password, display_name="Administrator"
        )
        record(
            "user_created",
            actor=ADMIN_ACTOR,
            role="admin",
            detail={"username": "admin", "role": "admin", "unit": "supreme"},
        )
        return password


COMMANDS = [users, units]
