"""``sealroom rooms add`` and ``sealroom rooms credential``: registering a room and handing
its appliance the room's own recorder token. Both are custody events."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from evidence_store import PRIVATE, NameTaken, UsageError, write_once
from evidence_store.cli import data_dir_from, data_dir_option, emit_json, json_option, operator
from web.app import create_app
from web.audit import record
from web.auth import unit_by_code
from web.cli.accounts import ADMIN_ROLE
from web.extensions import db
from web.models import Room
from web.recorders import check_recorder_url, room_key, room_token
from web.settings import settings_in


@click.group()
def rooms() -> None:
    """Interrogation rooms and their recorders' credentials."""


@rooms.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The room's name, as shown and sealed.")
@click.option("--unit", required=True, help="The unit the room belongs to.")
@click.option(
    "--recorder-url",
    required=True,
    help="https://host:port of its recorder (http:// only on this machine's loopback).",
)
@data_dir_option
@json_option
@click.pass_context
def add(
    ctx: click.Context,
    code: str,
    name: str,
    unit: str,
    recorder_url: str,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Register room CODE and where its recorder is reached."""
    url = check_recorder_url(recorder_url, loopback_http=True)
    app = create_app(data_dir_from(ctx, data_dir), settings_in(ctx.meta))
    with app.app_context():
        if db.session.scalar(select(Room).where(Room.code == code)) is not None:
            raise UsageError(f"room {code!r} exists already")
        owner = unit_by_code(unit)
        db.session.add(Room(code=code, name=name, unit=owner, recorder_url=url))
        db.session.commit()
        record(
            "room_created",
            actor=operator(),
            role=ADMIN_ROLE,
            detail={"code": code, "unit": unit, "recorder_url": url},
        )
    if as_json:
        emit_json({"room": code, "recorder_url": url})
    else:
        click.echo(f"room {code} registered; its recorder at {url}")


@rooms.command("credential")
@click.argument("code")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The token file to write (0600), for the appliance's [recorder.service] token_file.",
)
@data_dir_option
@click.pass_context
def credential(ctx: click.Context, code: str, out: Path, data_dir: Path | None) -> None:
    """Write room CODE's own recorder token (it opens that room only)."""
    data = data_dir_from(ctx, data_dir)
    settings = settings_in(ctx.meta)
    app = create_app(data, settings)
    with app.app_context():
        if db.session.scalar(select(Room).where(Room.code == code)) is None:
            raise UsageError(f"unknown room {code!r}: add it first (`sealroom rooms add`)")
        token = room_token(room_key(data.root, settings), code)
        try:
            write_once(out, token.encode() + b"\n", mode=PRIVATE)
        except NameTaken:
            raise UsageError(f"{out} exists already: nothing was overwritten") from None
        record(
            "room_credential_issued",
            actor=operator(),
            role=ADMIN_ROLE,
            detail={"room": code, "file": str(out)},
        )
    click.echo(f"room {code}'s recorder token written to {out} (0600)")


COMMANDS = [rooms]
