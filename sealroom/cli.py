"""``sealroom``: the one console script. Errors come out as one line and an exit status:
0 success, 1 evidence failed verification (or the operation failed), 2 usage error."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from evidence_store.cli import COMMANDS as EVIDENCE_COMMANDS
from evidence_store.cli import SETTINGS_KEY as EVIDENCE_SETTINGS
from evidence_store.errors import SealroomError
from evidence_store.s3_cli import COMMANDS as OBJECT_STORE_COMMANDS
from recorder.cli import COMMANDS as RECORDER_COMMANDS
from recorder.cli import ROOMS_KEY
from recorder.cli import SETTINGS_KEY as RECORDER_SETTINGS
from sealroom.config import load_config
from web.cli import COMMANDS as CONSOLE_COMMANDS
from web.cli import SETTINGS_KEY as CONSOLE_SETTINGS


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


for command in [*RECORDER_COMMANDS, *EVIDENCE_COMMANDS, *OBJECT_STORE_COMMANDS, *CONSOLE_COMMANDS]:
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
