"""Commands for the object store: uploader, reindex, legal-hold."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import click

from evidence_store import layout
from evidence_store.bucket import (
    RetentionPolicy,
    S3Access,
    S3Store,
    legal_hold_status,
    set_legal_hold,
)
from evidence_store.cli.options import (
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.errors import UsageError
from evidence_store.index import SessionIndex, reporting
from evidence_store.metrics import (
    InstallationCollector,
    MetricsServer,
    UploaderCollector,
    metrics_options,
    serve_metrics,
)
from evidence_store.settings import EvidenceSettings
from evidence_store.upload import (
    Backlog,
    SpoolObject,
    backlog_of,
    hold_uploader_lock,
    last_status,
    open_uploader,
)
from evidence_store.witnessing import WitnessLink

GIB = 1024**3
WITNESS_FLUSH_SECONDS = 5.0


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Outages are reported once by the uploader, not at every low-level retry.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def _print_backlog(backlog: Backlog) -> None:
    age = backlog.oldest_age_seconds
    click.echo(
        f"backlog: {backlog.objects} objects, {backlog.bytes / 1e6:.1f} MB in "
        f"{backlog.sessions} session(s); oldest waiting "
        f"{'-' if age is None else f'{age:.0f} s'}; {backlog.open_sessions} still recording; "
        f"spool disk {backlog.spool_free_bytes / GIB:.1f} GiB free"
    )
    for alarm in backlog.alarms:
        click.echo(f"ALARM: {alarm}", err=True)


@click.command("uploader")
@click.option(
    "--drain",
    is_flag=True,
    help="Upload what is waiting, then exit: 0 when nothing is left, "
    "1 when something needs a person (quarantined, held or conflicting files).",
)
@click.option(
    "--status",
    is_flag=True,
    help="Print the backlog and alarms; uploads nothing and works while the store is down.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="With --drain: give up (exit 1) after this many seconds.",
)
@click.option(
    "--create-bucket",
    is_flag=True,
    help="Create the bucket, with Object Lock, if it does not exist.",
)
@metrics_options
@data_dir_option
@json_option
@click.pass_context
def uploader(
    ctx: click.Context,
    drain: bool,
    status: bool,
    timeout: float | None,
    create_bucket: bool,
    metrics_port: int | None,
    metrics_host: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Drain the spool into the object store (SEALROOM_S3_* or [evidence.s3]), in order.

    Without options it runs until stopped (SIGTERM or Ctrl-C), waiting out outages.
    """
    data = data_dir_from(ctx, data_dir)
    if status:
        backlog = backlog_of(data)
        if as_json:
            emit_json({**backlog.as_dict(), "uploader": last_status(data)})
        else:
            _print_backlog(backlog)
        return
    if timeout is not None and not drain:
        raise UsageError("--timeout goes with --drain")
    _configure_logging()
    lock = hold_uploader_lock(data)
    sent: list[SpoolObject] = []
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    metrics: MetricsServer | None = None
    witness: WitnessLink | None = None
    try:
        with reporting(data) as catalog:  # uploaded and released sessions, to the catalog
            worker = open_uploader(
                data, create_bucket=create_bucket, on_upload=sent.append, catalog=catalog
            )
            if metrics_port is not None:
                metrics = serve_metrics(
                    metrics_port,
                    metrics_host or data.settings.operations.metrics_host,
                    UploaderCollector(worker),
                    InstallationCollector(data),
                )
            # The witness's queue drains here too: what a recorder left behind leaves now.
            witness = WitnessLink.open(data, on_event=worker.record_event)
            if witness is not None:
                witness.start()
            backlog = worker.run(stop, drain=drain, timeout=timeout)
    finally:
        if witness is not None:
            witness.flush(WITNESS_FLUSH_SECONDS if drain else 0.0)
            witness.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if metrics is not None:
            metrics.close()
        os.close(lock)
    summary: dict[str, Any] = {
        "uploaded_objects": len(sent),
        "uploaded_bytes": sum(o.size for o in sent),
        "backlog": backlog.as_dict(),
    }
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"uploaded {len(sent)} objects, {summary['uploaded_bytes'] / 1e6:.1f} MB")
        _print_backlog(backlog)
    if drain:
        ctx.exit(0 if backlog.empty and not backlog.needs_attention else 1)


def _bucket(settings: EvidenceSettings) -> S3Store:
    return S3Store.connect(S3Access.from_settings(settings.s3))


@click.command("reindex")
@click.option("--database-url", default=None, help="SQLAlchemy URL of the index to rebuild.")
@data_dir_option
@json_option
@click.pass_context
def reindex_command(
    ctx: click.Context, database_url: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Rebuild the session index from the object store alone."""
    data = data_dir_from(ctx, data_dir)
    bucket = _bucket(data.settings)
    index = SessionIndex.open(data.index_url(database_url))
    try:
        rows = index.rebuild(bucket, RetentionPolicy(data.settings.s3.retention))
    finally:
        index.close()
    if as_json:
        emit_json([row.as_dict() for row in rows])
    else:
        click.echo(f"indexed {len(rows)} sessions from {bucket.describe()}")


@click.group("legal-hold")
def legal_hold() -> None:
    """Legal holds on sessions in the object store (each change is logged in custody)."""


def _change_hold(
    ctx: click.Context, session_id: str, reason: str, data_dir: Path | None, *, on: bool
) -> None:
    layout.check_session_id(session_id)
    data = data_dir_from(ctx, data_dir)
    bucket = _bucket(data.settings)
    store = data.store(create=True)
    change = set_legal_hold(
        bucket,
        data.custody(store, data.signer()),
        session_id,
        on=on,
        actor=operator(),
        role="operator",
        reason=reason,
    )
    verb = "set on" if on else "released from"
    click.echo(f"legal hold {verb} {change.objects} objects of {session_id} in {change.bucket}")


@legal_hold.command("set")
@click.argument("session_id", metavar="SESSION")
@click.option("--reason", required=True, help="Why, e.g. the court order's number.")
@data_dir_option
@click.pass_context
def legal_hold_set(ctx: click.Context, session_id: str, reason: str, data_dir: Path | None) -> None:
    """Put every object of SESSION under legal hold."""
    _change_hold(ctx, session_id, reason, data_dir, on=True)


@legal_hold.command("release")
@click.argument("session_id", metavar="SESSION")
@click.option("--reason", required=True, help="Why, e.g. the decision that lifts it.")
@data_dir_option
@click.pass_context
def legal_hold_release(
    ctx: click.Context, session_id: str, reason: str, data_dir: Path | None
) -> None:
    """Release the legal hold on every object of SESSION."""
    _change_hold(ctx, session_id, reason, data_dir, on=False)


@legal_hold.command("show")
@click.argument("session_id", metavar="SESSION")
@data_dir_option
@json_option
@click.pass_context
def legal_hold_show(
    ctx: click.Context, session_id: str, data_dir: Path | None, as_json: bool
) -> None:
    """Show which objects of SESSION are under legal hold."""
    layout.check_session_id(session_id)
    data = data_dir_from(ctx, data_dir)
    held = legal_hold_status(_bucket(data.settings), session_id)
    if as_json:
        emit_json(held)
        return
    on = sum(held.values())
    click.echo(f"{session_id}: {on} of {len(held)} objects under legal hold")


COMMANDS = [uploader, reindex_command, legal_hold]
