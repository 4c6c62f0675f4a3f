"""The evidence commands (verify, show, sessions, custody, uploader, reindex, legal-hold,
timestamps, scrub, catalog, ca), the installation's ``doctor``, ``backup`` and
``restore``, and the command-line plumbing every package's commands share (``--data-dir``,
``--json``, the one-line errors and exit statuses)."""

from evidence_store.cli import (
    authority,
    backup,
    bucket,
    catalog,
    doctor,
    evidence,
    scrub,
    timestamps,
)
from evidence_store.cli.backup import BACKUP_DATABASES, CONFIG_PATH
from evidence_store.cli.catalog import reconcile_installation
from evidence_store.cli.doctor import DOCTOR_CHECKS
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
    *scrub.COMMANDS,
    *catalog.COMMANDS,
    *authority.COMMANDS,
    *doctor.COMMANDS,
    *backup.COMMANDS,
]

__all__ = [
    "BACKUP_DATABASES",
    "COMMANDS",
    "CONFIG_PATH",
    "DOCTOR_CHECKS",
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
