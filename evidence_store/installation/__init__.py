"""One installation's files on disk: its data directory, keys, trust roots and databases;
its backup and restore; and the framework of ``sealroom doctor``'s checks (the checks
themselves are in ``evidence_store.doctor``)."""

from evidence_store.installation.backup import (
    BackupError,
    BackupReport,
    RestoreReport,
    database_urls,
    restore_backup,
    write_backup,
)
from evidence_store.installation.data_dir import DataDir
from evidence_store.installation.doctor import Check, Problem, Report, Severity, examine

__all__ = [
    "BackupError",
    "BackupReport",
    "Check",
    "DataDir",
    "Problem",
    "Report",
    "RestoreReport",
    "Severity",
    "database_urls",
    "examine",
    "restore_backup",
    "write_backup",
]
