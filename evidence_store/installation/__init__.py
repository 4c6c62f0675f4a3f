"""One installation's files on disk: its data directory, keys, trust roots and databases,
who may read them, ``sealroom doctor``'s checks, and its certificate authority (TLS for
the console and the rooms)."""

from evidence_store.installation.authority import (
    InstallationCA,
    Issued,
    room_uri,
    rooms_named,
)
from evidence_store.installation.data_dir import DataDir
from evidence_store.installation.doctor import CHECKS, Check, Problem, Report, Severity, examine
from evidence_store.installation.permissions import OpenPath, Permissions

__all__ = [
    "CHECKS",
    "Check",
    "DataDir",
    "InstallationCA",
    "Issued",
    "OpenPath",
    "Permissions",
    "Problem",
    "Report",
    "Severity",
    "examine",
    "room_uri",
    "rooms_named",
]
