"""``sealroom backup`` and ``sealroom restore`` (``evidence_store.installation.backup``)."""

from __future__ import annotations

from pathlib import Path

import click

from evidence_store.cli.options import (
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.installation import DataDir, database_urls, restore_backup, write_backup

BACKUP_DATABASES = "sealroom.backup_databases"  # ctx.meta: databases other packages name
CONFIG_PATH = "sealroom.config_path"  # ctx.meta: the configuration file the shell loaded


def _databases(ctx: click.Context, data: DataDir) -> dict[str, str]:
    return database_urls(data, ctx.meta.get(BACKUP_DATABASES))


@click.command("backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (a .tar.gz, created 0600; never over an existing file).",
)
@click.option(
    "--evidence",
    is_flag=True,
    help="Include the sealed sessions too (an installation whose evidence is in no bucket).",
)
@data_dir_option
@json_option
@click.pass_context
def backup(
    ctx: click.Context, out: Path, evidence: bool, data_dir: Path | None, as_json: bool
) -> None:
    """Write a consistent archive of the installation: its databases (SQLite's online backup
    or pg_dump), keys, trust roots, custody checkpoints, queues and configuration."""
    data = data_dir_from(ctx, data_dir)
    report = write_backup(
        data,
        out,
        databases=_databases(ctx, data),
        config=ctx.meta.get(CONFIG_PATH),
        evidence=evidence,
        actor=operator(),
    )
    if as_json:
        emit_json(report.as_dict())
        return
    kinds = ", ".join(f"{name} ({kind})" for name, kind in sorted(report.databases.items()))
    click.echo(
        f"backup written to {report.archive}: {report.members} files, "
        f"{report.bytes / 1e6:.1f} MB; databases: {kinds or 'none'}"
        f"{'; with the sealed sessions' if report.evidence else ''}"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option
@json_option
@click.pass_context
def restore(ctx: click.Context, archive: Path, data_dir: Path | None, as_json: bool) -> None:
    """Bring an installation back from ARCHIVE into --data-dir, which must be new or empty.
    Every file is checked against the archive's list first; PostgreSQL dumps go into the
    configured (empty) databases."""
    data = data_dir_from(ctx, data_dir)
    report = restore_backup(archive, data.root, databases=_databases(ctx, data))
    restored = DataDir.resolve(data.root, data.settings)
    log = restored.custody(restored.store(create=True), restored.signer())
    log.record(
        actor=operator(),
        role="operator",
        action="restore",
        detail={"archive": str(archive), "created_at": report.created_at},
    )
    if log.damage is not None:
        report.notes.append(f"the restored custody log is damaged: {log.damage}")
    if as_json:
        emit_json(report.as_dict())
        return
    click.echo(
        f"restored {report.members} files from {archive} (backup of {report.created_at}) "
        f"into {report.data_dir}"
    )
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo("check it: sealroom custody verify, then sealroom doctor")


COMMANDS = [backup, restore]
