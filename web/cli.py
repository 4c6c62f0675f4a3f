"""Console commands: ``users create``, ``units create``, ``console`` and ``run``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import func, select

from evidence_store import PRIVATE, NameTaken, UsageError, write_once
from evidence_store.cli import data_dir_from, data_dir_option, emit_json, json_option
from web.app import create_app
from web.audit import record
from web.auth import create_unit, create_user
from web.extensions import db
from web.models import Room, User
from web.settings import ConsoleSettings

SETTINGS_KEY = "sealroom.console"
ADMIN_ACTOR = "cli"


def _app(ctx: click.Context, data_dir: Path | None) -> Flask:
    settings: ConsoleSettings = ctx.meta.get(SETTINGS_KEY) or ConsoleSettings()
    return create_app(data_dir_from(ctx, data_dir), settings)


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
    app = _app(ctx, data_dir)
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
    app = _app(ctx, data_dir)
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


def serve(app: Flask, host: str, port: int) -> None:
    """Serve with waitress: a production WSGI server with threads for live views."""
    from waitress import serve as waitress_serve

    click.echo(f"console on http://{host}:{port}/", err=True)
    waitress_serve(app, host=host, port=port, threads=16, ident="sealroom")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@data_dir_option
@click.pass_context
def console(ctx: click.Context, host: str, port: int, data_dir: Path | None) -> None:
    """Run the web console."""
    serve(_app(ctx, data_dir), host, port)


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


def ensure_room(app: Flask, *, code: str, name: str, url: str) -> None:
    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.code == code))
        if room is None:
            from web.auth import unit_by_code

            db.session.add(
                Room(code=code, name=name, unit=unit_by_code("supreme"), recorder_url=url)
            )
        else:
            room.recorder_url = url
        db.session.commit()


def recorder_token(root: Path) -> str:
    """$SEALROOM_RECORDER_TOKEN, else a token generated once into <data_dir>/recorder-token."""
    if token := os.environ.get("SEALROOM_RECORDER_TOKEN"):
        return token
    path = root / "recorder-token"
    if not path.exists():
        # Whole or absent, never half-written; a recorder service starting alongside may win.
        with suppress(NameTaken):
            write_once(path, secrets.token_urlsafe(32).encode(), mode=PRIVATE)
    return path.read_text().strip()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--recorder-port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@data_dir_option
@click.pass_context
def run(
    ctx: click.Context, host: str, port: int, recorder_port: int, data_dir: Path | None
) -> None:
    """Run everything on this machine: a synthetic room's recorder service and the console."""
    data = data_dir_from(ctx, data_dir)
    data.store(create=True)
    token = recorder_token(data.root)
    os.environ["SEALROOM_RECORDER_TOKEN"] = token  # for this console's terminal pages
    app = _app(ctx, data_dir)
    if (password := ensure_first_admin(app)) is not None:
        click.echo("first administrator: admin", err=True)
        click.echo(f"one-time password (shown only now): {password}", err=True)
    ensure_room(
        app, code="demo", name="Phòng hỏi cung mô phỏng", url=f"http://127.0.0.1:{recorder_port}"
    )
    recorder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sealroom",
            "recorder",
            "serve",
            "--room",
            "demo",
            "--synthetic",
            "--host",
            "127.0.0.1",
            "--port",
            str(recorder_port),
            "--data-dir",
            str(data.root),
        ],
        env={**os.environ, "SEALROOM_RECORDER_TOKEN": token},
    )
    try:
        serve(app, host, port)
    finally:
        recorder.terminate()
        recorder.wait(timeout=30)


COMMANDS = [users, units, console, run]
