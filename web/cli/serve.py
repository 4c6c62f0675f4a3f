"""``sealroom console``: the web console; ``sealroom run``: the console and a synthetic room's
recorder service on this machine, both stopped by SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import subprocess
import types
from pathlib import Path
from typing import NoReturn

import click
import waitress
from flask import Flask

from evidence_store.cli import data_dir_from, data_dir_option
from evidence_store.installation import DataDir
from evidence_store.metrics import (
    InstallationCollector,
    MetricsServer,
    metrics_options,
    serve_metrics,
)
from web.app import create_app, start_jobs
from web.cli.accounts import ensure_first_admin
from web.cli.demo_room import ensure_room, recorder_token, start_recorder, stop_recorder
from web.metrics import console_metrics
from web.settings import settings_in

SERVER_THREADS = 16  # live views (court screens' event streams) hold a thread each


class _Stopped(Exception):
    """SIGTERM or SIGINT: stop serving, and stop what was started with the console."""


def _stop(signum: int, _frame: types.FrameType | None) -> NoReturn:
    raise _Stopped(signal.Signals(signum).name)


def serve(
    app: Flask,
    host: str,
    port: int,
    *,
    metrics_port: int | None = None,
    metrics_host: str | None = None,
) -> None:
    """Serve with waitress, a production WSGI server, until the process is stopped; with
    ``metrics_port``, the console's metrics too."""
    logging.basicConfig()  # waitress's warnings (a full task queue) reach the operator
    metrics: MetricsServer | None = None
    if metrics_port is not None:
        data: DataDir = app.extensions["sealroom.data"]
        metrics = serve_metrics(
            metrics_port,
            metrics_host or data.settings.operations.metrics_host,
            console_metrics(app),
            InstallationCollector(data),
        )
    start_jobs(app)  # if this console runs its own jobs (one machine): builds, reconcile
    click.echo(f"console on http://{host}:{port}/", err=True)
    server = waitress.create_server(
        app, host=host, port=port, threads=SERVER_THREADS, ident="sealroom"
    )
    try:
        server.run()
    finally:
        server.close()
        if metrics is not None:
            metrics.close()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@metrics_options
@data_dir_option
@click.pass_context
def console(
    ctx: click.Context,
    host: str,
    port: int,
    metrics_port: int | None,
    metrics_host: str | None,
    data_dir: Path | None,
) -> None:
    """Run the web console."""
    app = create_app(data_dir_from(ctx, data_dir), settings_in(ctx.meta))
    serve(app, host, port, metrics_port=metrics_port, metrics_host=metrics_host)


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
    settings = settings_in(ctx.meta)
    token = recorder_token(data.root, settings)
    app = create_app(data, settings)
    if (password := ensure_first_admin(app)) is not None:
        click.echo("first administrator: admin", err=True)
        click.echo(f"one-time password (shown only now): {password}", err=True)
    ensure_room(app, url=f"http://127.0.0.1:{recorder_port}")
    # Signals become an exception from here on, so that the recorder service is always
    # stopped with the console (the default SIGTERM would leave it running alone).
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    recorder: subprocess.Popen[bytes] | None = None
    try:
        recorder = start_recorder(ctx, data, port=recorder_port, token=token)
        serve(app, host, port)
    except _Stopped as signalled:
        click.echo(f"{signalled}: stopping the console and the recorder service", err=True)
    finally:
        for sig in previous:  # a second Ctrl-C must not cut the service's sealing short
            signal.signal(sig, signal.SIG_IGN)
        try:
            if recorder is not None:
                stop_recorder(recorder)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


COMMANDS = [console, run]
