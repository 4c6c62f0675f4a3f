"""``sealroom recorder serve``: one room's recorder service, until SIGTERM or Ctrl-C.

The control API is served by cheroot (threads, and TLS from the standard library's ``ssl``):
over HTTPS with the room's certificate from the installation's CA when
``[recorder.service] tls_certificate_file`` and ``tls_key_file`` are set, otherwise over
plain HTTP on the loopback interface only, so that a room's token never crosses a network
in clear.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from evidence_store import UsageError
from evidence_store.cli import PLAIN_TEXT, data_dir_from, data_dir_option
from evidence_store.index import reporting
from evidence_store.installation import DataDir
from evidence_store.metrics import (
    BacklogReader,
    InstallationCollector,
    MetricsServer,
    metrics_options,
    serve_metrics,
)
from recorder.cli.context import ROOMS_KEY, SETTINGS_KEY
from recorder.cli.recover import describe
from recorder.control import is_loopback
from recorder.room import RoomProfile
from recorder.service import RoomCollector, RoomService, create_app, read_token, registered_unit
from recorder.settings import RecorderServiceSettings, RecorderSettings

log = logging.getLogger("sealroom.recorder")

SERVER_THREADS = 4  # the terminal polls status, preview and level while a request runs
SHUTDOWN_REASON = "the recorder service was shut down while recording"


def control_server(
    app: Any, host: str, port: int, service: RecorderServiceSettings
) -> tuple[wsgi.Server, str]:
    """The control API's server, bound (port 0: any free port), and its base URL."""
    tls = service.tls_certificate_file is not None and service.tls_key_file is not None
    if not tls and not is_loopback(host):
        raise UsageError(
            f"the recorder's control API listens on {host} only over TLS: set "
            "[recorder.service] tls_certificate_file and tls_key_file (`sealroom ca room`)"
        )
    server = wsgi.Server((host, port), app, numthreads=SERVER_THREADS)
    server.server_name = "sealroom-recorder"
    if tls:
        for path in (service.tls_certificate_file, service.tls_key_file):
            if path is None or not path.is_file():
                raise UsageError(f"cannot read the recorder's TLS file {path}")
        server.ssl_adapter = BuiltinSSLAdapter(
            str(service.tls_certificate_file), str(service.tls_key_file)
        )
    try:
        server.prepare()
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc.strerror or exc}") from exc
    bound_host, bound_port = server.bind_addr[0], server.bind_addr[1]
    return server, f"{'https' if tls else 'http'}://{bound_host}:{bound_port}"


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
@metrics_options
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
    metrics_port: int | None,
    metrics_host: str | None,
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
    data = data_dir_from(ctx, data_dir)
    backlog = BacklogReader(data)
    with reporting(data) as catalog:  # each session is in the catalog as it is recorded
        service = RoomService(
            data=data,
            settings=settings,
            room=room,
            profile=profile,
            unit=unit,
            backlog=with_destination(backlog, data),
            catalog=catalog.on_head,
        )
        start_metrics = None
        if metrics_port is not None:
            where = metrics_host or data.settings.operations.metrics_host
            collectors = (RoomCollector(service), InstallationCollector(data, backlog))
            start_metrics = functools.partial(serve_metrics, metrics_port, where, *collectors)
        _serve(service, room, settings, token, host, port, start_metrics)


def with_destination(
    backlog: Callable[[], dict[str, Any] | None], data: DataDir
) -> Callable[[], dict[str, Any]]:
    """The spool's backlog, saying whether an upload destination (an S3 endpoint) is
    configured at all: without one nothing ever leaves the room, and the terminal and the
    wall say so rather than show a backlog that can only grow."""
    configured = bool(data.settings.s3.with_environment().endpoint)

    def read() -> dict[str, Any]:
        return {**(backlog() or {}), "upload_configured": configured}

    return read


def _serve(
    service: RoomService,
    room: str,
    settings: RecorderSettings,
    token: str,
    host: str | None,
    port: int | None,
    start_metrics: Callable[[], MetricsServer] | None = None,
) -> None:
    stopping = threading.Event()

    def _shut_down(signum: int, _frame: types.FrameType | None) -> None:
        log.info("%s: shutting down", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, _shut_down) for sig in (signal.SIGTERM, signal.SIGINT)}
    server: wsgi.Server | None = None
    metrics: MetricsServer | None = None
    try:
        for line in describe(service.open()):
            click.echo(f"sealroom: recovery: {line}", err=True)
        if start_metrics is not None:
            metrics = start_metrics()
        server, url = control_server(
            create_app(service, token),
            host or settings.service.host,
            settings.service.port if port is None else port,
            settings.service,
        )
        click.echo(f"recorder service for room {room} listening on {url}")
        serving = threading.Thread(target=server.serve, name="control-api", daemon=True)
        serving.start()
        while serving.is_alive() and not stopping.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.stop()
        if metrics is not None:
            metrics.close()
        service.close(SHUTDOWN_REASON)


COMMANDS = [recorder_group]
