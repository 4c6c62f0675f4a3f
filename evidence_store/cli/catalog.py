"""``sealroom catalog reconcile``: find what the rooms' events missed, by hand (the worker runs
the same on a schedule)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from evidence_store.bucket import RetentionPolicy, S3Access, S3Store
from evidence_store.cli.options import data_dir_from, data_dir_option, emit_json, json_option
from evidence_store.index import BATCH, ReconcileReport, SessionIndex, reconcile
from evidence_store.installation import DataDir
from evidence_store.store import FilesystemStore
from evidence_store.witnessing import witness_url


def reconcile_installation(
    data: DataDir,
    *,
    batch: int = BATCH,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ReconcileReport:
    """Reconcile ``data``'s catalog with its own store and the bucket its settings name."""
    local: FilesystemStore | None = data.store() if data.evidence.is_dir() else None
    bucket = None
    if data.settings.s3.with_environment(environ).endpoint:
        bucket = S3Store.connect(S3Access.from_settings(data.settings.s3, environ))
    index = SessionIndex.open(data.index_url(database_url))
    try:
        policy = RetentionPolicy(data.settings.s3.retention)
        witnessing = witness_url(data.settings, environ) is not None
        return reconcile(index, local, bucket, policy, batch=batch, witnessing=witnessing)
    finally:
        index.close()


@click.group("catalog")
def catalog() -> None:
    """The catalog of sessions that every console page reads."""


@catalog.command("reconcile")
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=BATCH,
    show_default=True,
    help="Sessions compared with the catalog per query.",
)
@click.option("--database-url", default=None, help="SQLAlchemy URL of the catalog.")
@data_dir_option
@json_option
@click.pass_context
def reconcile_command(
    ctx: click.Context, batch: int, database_url: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Add to the catalog the sessions of this store and the bucket that it lacks or holds
    behind (missed events); exit 1 when some could not be read."""
    report = reconcile_installation(
        data_dir_from(ctx, data_dir), batch=batch, database_url=database_url
    )
    if as_json:
        emit_json(report.as_dict())
    else:
        click.echo(
            f"{report.listed} sessions listed, {report.read} read, {report.changed} catalogued "
            f"or brought forward, in {report.batches} batch(es)"
        )
        for session_id, reason in report.failed.items():
            click.echo(f"{session_id}: not read: {reason}", err=True)
    ctx.exit(1 if report.failed else 0)


COMMANDS = [catalog]
