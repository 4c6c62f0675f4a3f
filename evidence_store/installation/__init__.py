"""One installation's files on disk: its data directory, keys, trust roots and databases,
who may read them, its backup and restore, its certificate authority (TLS for the console
and the rooms), and the framework of ``sealroom doctor``'s checks (the installation's own
here; those of the evidence in ``evidence_store.doctor``)."""

from evidence_store.installation.authority import (
    InstallationCA,
    Issued,
    room_uri,
    rooms_named,
)
from evidence_store.installation.backup import (
    BackupError,
    BackupReport,
    RestoreReport,
    database_urls,
    restore_backup,
    write_backup,
)
from evidence_store.installation.data_dir import DataDir
from evidence_store.installation.doctor import CHECKS, Check, Problem, Report, Severity, examine
from evidence_store.installation.permissions import OpenPath, Permissions

__all__ = [
    "CHECKS",
    "BackupError",
    "BackupReport",
    "Check",
    "DataDir",
    "InstallationCA",
    "Issued",
    "OpenPath",
    "Permissions",
    "Problem",
    "Report",
    "RestoreReport",
    "Severity",
    "database_urls",
    "examine",
    "restore_backup",
    "room_uri",
    "rooms_named",
    "write_backup",
]
