"""``sealroom scrub``: verify every stored session again (``evidence_store.scrub``), one pass
or, with ``--daemon``, a pass every ``[evidence.operations] scrub_interval_hours``."""

from __future__ import annotations

import logging
import re
import signal
import threading
from pathlib import Path

import click

from evidence_store.bucket import S3Access, S3Store
from evidence_store.cli.options import data_dir_from, data_dir_option, emit_json, json_option
from evidence_store.errors import UsageError
from evidence_store.installation import DataDir
from evidence_store.metrics import (
    InstallationCollector,
    MetricsServer,
    ScrubCollector,
    metrics_options,
    serve_metrics,
)
from evidence_store.scrub import STORES, PassReport, Scrubber, scrub_forever
from evidence_store.store import BrowsableStore

RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:/s)?$", re.IGNORECASE)
UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_rate(text: str) -> int:
    """``32M``, ``500K``, ``1G`` or a number of bytes, per second."""
    found = RATE.fullmatch(text.strip())
    if found is None or float(found.group(1)) <= 0:
        raise UsageError(f"--rate takes bytes per second, e.g. 32M or 500K, not {text!r}")
    return int(float(found.group(1)) * UNITS[found.group(2).upper()])


def _bucket(data: DataDir) -> BrowsableStore | None:
    if not data.settings.s3.with_environment().endpoint:
        return None
    access = S3Access.from_settings(data.settings.s3)  # incomplete settings: a clear error
    return S3Store.connect(access)


@click.command("scrub")
@click.option(
    "--store",
    "which",
    type=click.Choice(["all", *STORES]),
    default="all",
    show_default=True,
    help="Scrub the local store, the bucket (SEALROOM_S3_* or [evidence.s3]), or both.",
)
@click.option("--rate", default=None, help="Bytes read per second, e.g. 32M (default from config).")
@click.option(
    "--daemon",
    is_flag=True,
    help="Run as the background job: a pass every [evidence.operations] scrub_interval_hours, "
    "until SIGTERM or Ctrl-C.",
)
@metrics_options
@data_dir_option
@json_option
@click.pass_context
def scrub(
    ctx: click.Context,
    which: str,
    rate: str | None,
    daemon: bool,
    metrics_port: int | None,
    metrics_host: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Verify every sealed session again, locally and in the bucket, resuming where the last
    run stopped. Exit 0 when all verified, 1 when one did not (an alarm and a custody event),
    2 on a usage error."""
    data = data_dir_from(ctx, data_dir)
    stores = STORES if which == "all" else (which,)
    bucket = _bucket(data) if "bucket" in stores else None
    if which == "bucket" and bucket is None:
        raise UsageError("no object store configured: set SEALROOM_S3_* or [evidence.s3]")
    collector = ScrubCollector()
    scrubber = Scrubber(
        data,
        stores=stores,
        bytes_per_second=parse_rate(rate) if rate else None,
        bucket=None if bucket is None else (lambda: bucket),
        on_result=collector.observe,
    )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    metrics: MetricsServer | None = None
    try:
        if metrics_port is not None:
            metrics = serve_metrics(
                metrics_port,
                metrics_host or data.settings.operations.metrics_host,
                collector,
                InstallationCollector(data),
            )
        if daemon:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
            interval = data.settings.operations.scrub_interval_hours * 3600
            scrub_forever(scrubber, stop, interval_seconds=interval)
            return
        report = scrubber.run_pass(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if metrics is not None:
            metrics.close()
    _print(report, as_json=as_json)
    ctx.exit(1 if report.failures else 0)


def _print(report: PassReport, *, as_json: bool) -> None:
    if as_json:
        emit_json(report.as_dict())
        return
    summary = report.as_dict()
    state = "pass complete" if report.complete else "stopped; the next run goes on from here"
    click.echo(
        f"scrub ({', '.join(report.stores) or 'nothing to scrub'}): {summary['sessions']} "
        f"session(s) verified, {summary['skipped']} not sealed yet, "
        f"{report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s; {state}"
    )
    for failure in report.failures:
        where = f"{failure.location}: " if failure.location else ""
        click.echo(
            f"{failure.session_id} ({failure.store}): {failure.result.upper()} — first failure: "
            f"{where}{failure.reason}"
        )


COMMANDS = [scrub]
