"""The evidence commands (verify, show, sessions, custody, uploader, reindex, legal-hold,
timestamps, catalog, ca), the installation's ``doctor``, and the command-line plumbing every
package's commands share (``--data-dir``, ``--json``, the one-line errors and exit statuses)."""

from evidence_store.cli import authority, bucket, catalog, doctor, evidence, timestamps
from evidence_store.cli.catalog import reconcile_installation
from evidence_store.cli.options import (
    PLAIN_TEXT,
    SETTINGS_KEY,
    byte_progress,
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
    run_commands,
)

COMMANDS = [
    *evidence.COMMANDS,
    *bucket.COMMANDS,
    *timestamps.COMMANDS,
    *catalog.COMMANDS,
    *authority.COMMANDS,
    *doctor.COMMANDS,
]

__all__ = [
    "COMMANDS",
    "PLAIN_TEXT",
    "SETTINGS_KEY",
    "byte_progress",
    "data_dir_from",
    "data_dir_option",
    "emit_json",
    "json_option",
    "operator",
    "reconcile_installation",
    "run_commands",
]
