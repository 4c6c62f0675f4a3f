"""One installation's files on disk: its data directory, keys, trust roots and databases,
who may read them, and ``sealroom doctor``'s checks."""

from evidence_store.installation.data_dir import DataDir
from evidence_store.installation.doctor import CHECKS, Check, Problem, Report, Severity, examine
from evidence_store.installation.permissions import OpenPath, Permissions

__all__ = [
    "CHECKS",
    "Check",
    "DataDir",
    "OpenPath",
    "Permissions",
    "Problem",
    "Report",
    "Severity",
    "examine",
]
