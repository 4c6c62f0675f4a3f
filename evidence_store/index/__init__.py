"""Session summaries and the catalog of sessions: fed by the rooms' events, reconciled with
the store's listings, read by every page."""

from evidence_store.index.delivery import (
    INGEST_PATH,
    ROOM_HEADER,
    HttpDelivery,
    LocalDelivery,
    catalog_sender,
    reporting,
)
from evidence_store.index.events import CatalogEvent, EventKind, Location
from evidence_store.index.reconcile import BATCH, ReconcileReport, reconcile
from evidence_store.index.reporter import CatalogReporter, catalog_outbox
from evidence_store.index.search import COUNT_CAP, SessionPage, SessionSearch
from evidence_store.index.search_text import search_key
from evidence_store.index.session_index import CatalogConflict, SessionIndex
from evidence_store.index.summary import (
    FINAL_STATES,
    SealState,
    SessionSummary,
    list_sessions,
    read_links,
    read_manifest,
    session_ids,
    summarise,
)

__all__ = [
    "BATCH",
    "COUNT_CAP",
    "FINAL_STATES",
    "INGEST_PATH",
    "ROOM_HEADER",
    "CatalogConflict",
    "CatalogEvent",
    "CatalogReporter",
    "EventKind",
    "HttpDelivery",
    "LocalDelivery",
    "Location",
    "ReconcileReport",
    "SealState",
    "SessionIndex",
    "SessionPage",
    "SessionSearch",
    "SessionSummary",
    "catalog_outbox",
    "catalog_sender",
    "list_sessions",
    "read_links",
    "read_manifest",
    "reconcile",
    "reporting",
    "search_key",
    "session_ids",
    "summarise",
]
