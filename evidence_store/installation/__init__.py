"""One installation's files on disk: its data directory, keys, trust roots and databases, and
its certificate authority (TLS for the console and the rooms)."""

from evidence_store.installation.authority import (
    InstallationCA,
    Issued,
    room_uri,
    rooms_named,
)
from evidence_store.installation.data_dir import DataDir

__all__ = ["DataDir", "InstallationCA", "Issued", "room_uri", "rooms_named"]
