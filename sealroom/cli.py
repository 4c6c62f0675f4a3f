"""``sealroom``: the one console script. Errors come out as one line and an exit status:
0 success, 1 evidence failed verification (or the operation failed), 2 usage error."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from evidence_store import ClipProof, SealroomError, UsageError, VerificationError, layout
from evidence_store.cli import COMMANDS as EVIDENCE_COMMANDS
from evidence_store.cli import SETTINGS_KEY as EVIDENCE_SETTINGS
from evidence_store.cli import (
    byte_progress,
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.export import ExportSpec, build_package, export_bytes
from evidence_store.installation import DataDir
from recorder.cli import COMMANDS as RECORDER_COMMANDS
from recorder.cli import ROOMS_KEY
from recorder.cli import SETTINGS_KEY as RECORDER_SETTINGS
from sealroom.config import load_config
from web import COMMANDS as CONSOLE_COMMANDS
from web import SETTINGS_KEY as CONSOLE_SETTINGS
from web import Clip, ConsoleSettings, create_app, db, evidence_reader


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SEALROOM_CONFIG",
    default=None,
    help="sealroom.toml (default: $SEALROOM_CONFIG; none: defaults).",
)
@click.version_option(package_name="sealroom")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """sealroom: sealed interrogation-room recordings that anyone can verify."""
    loaded = load_config(config)
    ctx.meta[EVIDENCE_SETTINGS] = loaded.evidence
    ctx.meta[RECORDER_SETTINGS] = loaded.recorder
    ctx.meta[ROOMS_KEY] = loaded.rooms
    ctx.meta[CONSOLE_SETTINGS] = loaded.console


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
    spec = _export_spec(ctx, data, what)
    reader = evidence_reader(data, store, os.environ)  # local first, then the bucket
    total = export_bytes(reader, spec)  # also refuses an unknown or unsealed session
    signer = data.signer()  # signs the custody log and the package: this installation
    log = data.custody(store, signer)
    entries = log.entries(session_id=spec.session_id)  # the excerpt: everything before this
    actor = operator_name or operator()
    clip = {"clip": spec.clip_ref} if spec.clip_ref else {}
    try:
        with byte_progress("exporting", total, enabled=not as_json) as step:
            package = build_package(
                reader,
                spec,
                data.trust(list(extra_trust)),
                out.absolute(),
                custody=entries,
                exported_by=actor,
                as_zip=as_zip,
                progress=step,
                signer=signer,
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


def _export_spec(ctx: click.Context, data: DataDir, what: str) -> ExportSpec:
    """A session id as it is, or ``clip-<id>``: a clip of the console's database."""
    if not what.startswith("clip-"):
        layout.check_session_id(what)
        return ExportSpec(session_id=what)
    number = what.removeprefix("clip-")
    if not number.isdigit():
        raise UsageError(f"not a clip: {what!r} (expected clip-<number>, e.g. clip-12)")
    settings: ConsoleSettings = ctx.meta.get(CONSOLE_SETTINGS) or ConsoleSettings()
    app = create_app(data, settings)
    with app.app_context():
        clip = db.session.get(Clip, int(number))
        if clip is None:
            raise UsageError(f"no clip {what} in the console database")
        return ExportSpec(
            session_id=clip.session_id,
            proof=ClipProof.from_json(clip.proof),
            title=clip.title,
            exhibit_number=clip.exhibit_number,
            clip_ref=what,
        )


for command in [
    *RECORDER_COMMANDS,
    *EVIDENCE_COMMANDS,
    *CONSOLE_COMMANDS,
    export_command,
]:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn every expected failure into one line on stderr and an exit status."""
    try:
        result = cli.main(args=argv, prog_name="sealroom", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as exc:
        click.echo(f"sealroom: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("sealroom: interrupted", err=True)
        return 130
    except SealroomError as exc:
        click.echo(f"sealroom: error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: say so in one line, with the detail on request
        if os.environ.get("SEALROOM_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"sealroom: internal error: {type(exc).__name__}: {exc} "
            "(set SEALROOM_DEBUG=1 for the traceback)",
            err=True,
        )
        return 70
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
