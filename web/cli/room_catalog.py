"""``sealroom catalog-credential ROOM --out FILE``: the credential with which one room's
appliance reports to the catalog (``web.room_credential``), written for that appliance alone
(0600, never over an existing file). The appliance names it in ``[evidence.catalog]
token_file`` (or ``$SEALROOM_CATALOG_TOKEN``), with ``room`` and the console's ``url``."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from evidence_store import PRIVATE, NameTaken, UsageError, write_once
from evidence_store.cli import data_dir_from, data_dir_option
from web.app import create_app
from web.extensions import db
from web.models import Room
from web.recorders import room_key
from web.room_credential import catalog_token
from web.settings import settings_in


@click.command("catalog-credential")
@click.argument("code")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (a new file, 0600).",
)
@data_dir_option
@click.pass_context
def catalog_credential(ctx: click.Context, code: str, out: Path, data_dir: Path | None) -> None:
    """Write room CODE's catalog credential to a new file, for its appliance."""
    data = data_dir_from(ctx, data_dir)
    settings = settings_in(ctx.meta)
    app = create_app(data, settings.model_copy(update={"run_jobs": False}))
    with app.app_context():
        if db.session.scalar(select(Room).where(Room.code == code)) is None:
            raise UsageError(f"no room {code!r}: register it first")
    token = catalog_token(room_key(data.root, settings), code)
    try:
        written = write_once(out, token.encode(), mode=PRIVATE)
    except NameTaken as exc:
        raise UsageError(f"{out} exists: the credential is never written over a file") from exc
    done = "written to" if written else "already in"
    click.echo(f"room {code}'s catalog credential {done} {out} (0600)")


COMMANDS = [catalog_credential]
