"""``sealroom export SESSION|clip-N --out PATH [--zip]``: a package anyone can verify offline,
built by the same builder as the console's export requests (``web.exports.package``).

A session export needs nothing of the console; only a clip (``clip-<id>``) opens the console's
database to read the clip and its proof.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from evidence_store import VerificationError
from evidence_store.cli import (
    PLAIN_TEXT,
    byte_progress,
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.export import ExportSpec, export_bytes
from evidence_store.installation import DataDir
from web.app import create_app, evidence_reader
from web.exports.package import Exporter, build_export, clip_id_of, clip_spec, session_spec
from web.settings import settings_in


@click.command("export")
@click.argument("what", metavar="SESSION|CLIP")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the package: a new directory (or a new .zip with --zip).",
)
@click.option("--zip", "as_zip", is_flag=True, help="Write one .zip file instead of a directory.")
@click.option(
    "--operator",
    "operator_name",
    type=PLAIN_TEXT,
    default=None,
    help="Who exports, for the custody log (default: the OS user@host).",
)
@click.option(
    "--trust",
    "extra_trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="An extra trust root: a PEM certificate, public key, or a directory of them.",
)
@data_dir_option
@json_option
@click.pass_context
def export_command(
    ctx: click.Context,
    what: str,
    out: Path,
    as_zip: bool,
    operator_name: str | None,
    extra_trust: tuple[Path, ...],
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Export a session (s-...) or a console clip (clip-<id>) as a package anyone can verify
    offline: original segments, seal, custody excerpt, READMEs, player and verify.py."""
    data = data_dir_from(ctx, data_dir)
    store = data.store()
    spec = _spec(ctx, data, what)
    reader = evidence_reader(data, store, os.environ)  # local first, then the bucket
    total = export_bytes(reader, spec)  # also refuses an unknown or unsealed session
    log = data.custody(store, data.signer())  # the custody log of this installation
    actor = operator_name or operator()
    clip = {"clip": spec.clip_ref} if spec.clip_ref else {}
    console = create_app(data, settings_in(ctx.meta))  # whose rows may leave: its accounts
    try:
        with (
            console.app_context(),
            byte_progress("exporting", total, enabled=not as_json) as step,
        ):
            package = build_export(
                Exporter(data, reader, log),
                spec,
                out.absolute(),
                exported_by=actor,
                as_zip=as_zip,
                progress=step,
                extra_trust=extra_trust,
            )
    except VerificationError as failure:  # nothing left the store, but it was touched
        refused = {"result": failure.kind, "location": failure.location, "reason": failure.reason}
        log.record(
            actor=actor,
            role="operator",
            action="export",
            session_id=spec.session_id,
            detail={**refused, **clip},
        )
        raise
    detail = {**package.custody_detail(), "out": str(package.path), **clip}
    log.record(
        actor=actor, role="operator", action="export", session_id=spec.session_id, detail=detail
    )
    if as_json:
        emit_json({**detail, "session_id": spec.session_id, "signer": package.signer})
        return
    click.echo(
        f"{package.path}: {package.kind} of {spec.session_id} — {package.segments} segment(s), "
        f"{package.files} files, recorded by {package.signer}, package signed by "
        f"{package.exporter}; package SHA-256 "
        f"{package.package_sha256} (recorded in the custody log)"
    )


def _spec(ctx: click.Context, data: DataDir, what: str) -> ExportSpec:
    """A session id as it is, or ``clip-<id>``: a clip of the console's database."""
    clip_id = clip_id_of(what)
    if clip_id is None:
        return session_spec(what)
    with create_app(data, settings_in(ctx.meta)).app_context():
        return clip_spec(clip_id)


COMMANDS = [export_command]
