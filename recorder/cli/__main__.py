"""``python -m recorder.cli``: the recorder's commands without the ``sealroom`` shell, for a
process that starts them itself (``sealroom run`` starts a room's recorder service so, since
the console may not import the recorder). ``python -m recorder.cli ARGS`` is
``sealroom ARGS`` for the recorder's commands, e.g. ``recorder serve --room R``.

The shell would load ``sealroom.toml``; here the starter hands over the sections it loaded,
as JSON on standard input (``--settings-stdin``), keyed as the shell keys them:
``{"sealroom.evidence": {...}, "sealroom.recorder": {...}, "sealroom.rooms": {...}}``.
Sections that are not the recorder's are ignored; a missing one means its defaults.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from pydantic import TypeAdapter, ValidationError

from evidence_store import EvidenceSettings, UsageError, first_error
from evidence_store.cli import SETTINGS_KEY as EVIDENCE_SETTINGS
from evidence_store.cli import run_commands
from recorder.cli import COMMANDS, ROOMS_KEY, SETTINGS_KEY
from recorder.room import RoomProfile
from recorder.settings import RecorderSettings

SECTIONS: dict[str, TypeAdapter[Any]] = {
    EVIDENCE_SETTINGS: TypeAdapter(EvidenceSettings),
    SETTINGS_KEY: TypeAdapter(RecorderSettings),
    ROOMS_KEY: TypeAdapter(dict[str, RoomProfile]),
}


def read_sections(text: str) -> dict[str, Any]:
    """The recorder's configuration sections in a JSON document, validated as from the file."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"the settings on standard input are not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise UsageError("the settings on standard input must be a JSON object of sections")
    try:
        return {
            key: SECTIONS[key].validate_python(document[key])
            for key in document.keys() & SECTIONS.keys()
        }
    except ValidationError as exc:
        raise UsageError(f"the settings on standard input: {first_error(exc)}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--settings-stdin",
    is_flag=True,
    help="Read the configuration sections as JSON from standard input (default: defaults).",
)
@click.pass_context
def recorder_commands(ctx: click.Context, settings_stdin: bool) -> None:
    """The recorder's commands, as ``sealroom`` has them."""
    if settings_stdin:
        ctx.meta.update(read_sections(sys.stdin.read()))


for command in COMMANDS:
    recorder_commands.add_command(command)


if __name__ == "__main__":
    sys.exit(run_commands(recorder_commands, None, prog_name="python -m recorder.cli"))
