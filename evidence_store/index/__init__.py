"""Session summaries and the SQL index of sessions, read from the evidence without verifying it."""

from evidence_store.index.session_index import SessionIndex, SessionPage, SessionSearch
from evidence_store.index.summary import (
    FINAL_STATES,
    SealState,
    SessionSummary,
    list_sessions,
    read_links,
    read_manifest,
    summarise,
)

__all__ = [
    "FINAL_STATES",
    "SealState",
    "SessionIndex",
    "SessionPage",
    "SessionSearch",
    "SessionSummary",
    "list_sessions",
    "read_links",
    "read_manifest",
    "summarise",
]
