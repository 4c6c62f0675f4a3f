"""``sealroom recorder serve``: one room's recorder service, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import types
from pathlib import Path
from typing import Any, NoReturn

import click
import waitress

from evidence_store import UsageError
from evidence_store.cli import PLAIN_TEXT, data_dir_from, data_dir_option
from recorder.cli.context import ROOMS_KEY, SETTINGS_KEY
from recorder.cli.recover import describe
from recorder.room import RoomProfile
from recorder.service import RoomService, create_app, read_token, registered_unit
from recorder.settings import RecorderSettings

log = logging.getLogger("sealroom.recorder")

SERVER_THREADS = 4  # the terminal polls status, preview and level while a request runs
SHUTDOWN_REASON = "the recorder service was shut down while recording"


class _Shutdown(Exception):
    """SIGTERM or SIGINT: stop the session in progress and leave."""


def _shut_down(signum: int, _frame: types.FrameType | None) -> NoReturn:
    raise _Shutdown(signal.Signals(signum).name)


@click.group("recorder")
def recorder_group() -> None:
    """The room's recorder service."""


@recorder_group.command()
@click.option(
    "--room",
    required=True,
    type=PLAIN_TEXT,
    help="The room this service records, e.g. P1-VKS-HaNoi.",
)
@click.option("--host", default=None, help="Address to listen on (default from config: 127.0.0.1).")
@click.option(
    "--port",
    type=int,
    default=None,
    help="Port (default from config: 8750; 0: any free port, printed at start).",
)
@click.option(
    "--synthetic",
    is_flag=True,
    help="Record the synthetic room instead of the room profile's devices.",
)
@click.option(
    "--unit",
    type=PLAIN_TEXT,
    default=None,
    help="The unit the room is registered to, when its profile names none; its sessions "
    "are filed there, whatever a request names.",
)
@data_dir_option
@click.pass_context
def serve(
    ctx: click.Context,
    room: str,
    host: str | None,
    port: int | None,
    synthetic: bool,
    unit: str | None,
    data_dir: Path | None,
) -> None:
    """Serve one room: recover what a dead recorder left, then take control requests."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings: RecorderSettings = ctx.meta.get(SETTINGS_KEY) or RecorderSettings()
    token = read_token(settings.service)
    rooms: dict[str, RoomProfile] = ctx.meta.get(ROOMS_KEY) or {}
    profile = rooms.get(room)
    unit = registered_unit(room, profile, unit)  # from the profile even when synthetic
    profile = None if synthetic else profile
    if profile is None and not synthetic:
        click.echo(
            f"sealroom: room {room} has no profile in the configuration: recording "
            "the synthetic room",
            err=True,
        )
    service = RoomService(
        data=data_dir_from(ctx, data_dir),
        settings=settings,
        room=room,
        profile=profile,
        unit=unit,
    )
    for line in describe(service.open()):
        click.echo(f"sealroom: recovery: {line}", err=True)
    previous = {sig: signal.signal(sig, _shut_down) for sig in (signal.SIGTERM, signal.SIGINT)}
    server: Any = None
    try:
        server = waitress.create_server(
            create_app(service, token),
            host=host or settings.service.host,
            port=settings.service.port if port is None else port,
            threads=SERVER_THREADS,
            ident="sealroom-recorder",
        )
        click.echo(
            f"recorder service for room {room} listening on "
            f"http://{server.effective_host}:{server.effective_port}"
        )
        server.run()
    except _Shutdown as signalled:
        log.info("%s: shutting down", signalled)
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc.strerror or exc}") from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.close()
        service.close(SHUTDOWN_REASON)


COMMANDS = [recorder_group]
