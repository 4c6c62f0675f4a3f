"""``sealroom``: the one console script. It loads ``sealroom.toml`` and composes the packages'
commands; every command lives in its package (``evidence_store.cli``, ``recorder.cli``,
``web.cli``, ``witness.cli``). Errors come out as one line and an exit status: 0 success,
1 evidence failed verification (or the operation failed), 2 usage error."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evidence_store.cli import BACKUP_DATABASES, CONFIG_PATH, DOCTOR_CHECKS, run_commands
from evidence_store.cli import COMMANDS as EVIDENCE_COMMANDS
from evidence_store.cli import SETTINGS_KEY as EVIDENCE_SETTINGS
from recorder import recorder_checks
from recorder.cli import COMMANDS as RECORDER_COMMANDS
from recorder.cli import ROOMS_KEY
from recorder.cli import SETTINGS_KEY as RECORDER_SETTINGS
from sealroom.config import load_config
from web import COMMANDS as CONSOLE_COMMANDS
from web import SETTINGS_KEY as CONSOLE_SETTINGS
from web import console_checks
from witness import COMMANDS as WITNESS_COMMANDS
from witness import DATABASE_KEY as WITNESS_DATABASE
from witness import SETTINGS_KEY as WITNESS_SETTINGS


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
    ctx.meta[WITNESS_SETTINGS] = loaded.witness
    ctx.meta[WITNESS_DATABASE] = loaded.database
    ctx.meta[CONFIG_PATH] = config
    # What only the console's settings name: its database, when it is not the default.
    ctx.meta[BACKUP_DATABASES] = {"console": loaded.console.database_url}
    # `sealroom doctor` checks what each package knows to check, with its own settings.
    ctx.meta[DOCTOR_CHECKS] = [
        *recorder_checks(loaded.recorder),
        *console_checks(loaded.console),
    ]


for command in [*RECORDER_COMMANDS, *EVIDENCE_COMMANDS, *CONSOLE_COMMANDS, *WITNESS_COMMANDS]:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn every expected failure into one line on stderr and an exit status."""
    return run_commands(cli, argv, prog_name="sealroom")


if __name__ == "__main__":
    sys.exit(main())
