"""Session summaries and the SQL index of sessions, read from the evidence without verifying it."""

from evidence_store.index.summary import list_sessions, read_links, read_manifest, summarise
from evidence_store.index.table import open_index, read_index, reindex

__all__ = [
    "list_sessions",
    "open_index",
    "read_index",
    "read_links",
    "read_manifest",
    "reindex",
    "summarise",
]
