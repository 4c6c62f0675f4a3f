"""``sealroom worker``: the process that runs background jobs from the shared database (export
builds) and the catalog's reconcile on its schedule, until SIGTERM or Ctrl-C.

Consoles queue the jobs; any number of workers take them, each under a lease, so a build
asked for on a console replica survives that replica's restart, and a worker's too (its
lease runs out and the job is taken again). Run consoles with ``[console] run_jobs = false``
where a worker runs: they then only queue.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from evidence_store.cli import data_dir_from, data_dir_option
from evidence_store.metrics import InstallationCollector, metrics_options, serve_metrics
from web.app import create_app, job_runner
from web.jobs import JobsCollector
from web.settings import settings_in


@click.command()
@data_dir_option
@metrics_options
@click.pass_context
def worker(
    ctx: click.Context,
    data_dir: Path | None,
    metrics_port: int | None,
    metrics_host: str | None,
) -> None:
    """Run background jobs (export builds, the catalog's reconcile) until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = settings_in(ctx.meta).model_copy(update={"run_jobs": False})
    data = data_dir_from(ctx, data_dir)
    app = create_app(data, settings)
    runner = job_runner(app, data, settings)
    metrics = None
    if metrics_port is not None:
        metrics = serve_metrics(
            metrics_port,
            metrics_host or data.settings.operations.metrics_host,
            JobsCollector(app),
            InstallationCollector(data),
        )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    click.echo(f"worker {runner.owner}: running jobs", err=True)
    try:
        runner.start(scheduled=True)
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # A build cut short here is taken again by a worker once its lease runs out.
        runner.stop()
        if metrics is not None:
            metrics.close()
    click.echo("worker stopped", err=True)


COMMANDS = [worker]
