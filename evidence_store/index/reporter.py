"""A room appliance telling the catalog about its sessions as they happen, without ever
making the recording wait.

``CatalogReporter`` is the session writer's observer (``SessionObserver``): link 0 is
"started", each sealed segment "segments" (count and head), the seal "sealed" or
"interrupted" (a recovered session); the uploader adds "uploaded" and "released". Each event
is one small file in the ``catalog`` outbox (``<data_dir>/outbox/catalog/``); the outbox's
sender delivers them (``delivery``). A disk too full to take one loses the event, never the
recording: reconcile finds the session later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from evidence_store.chain import ChainState
from evidence_store.errors import SealroomError
from evidence_store.index.events import CatalogEvent, EventKind, Location
from evidence_store.index.summary import read_manifest
from evidence_store.model import Link, Manifest
from evidence_store.outbox import Outbox
from evidence_store.store import EvidenceReader

log = logging.getLogger("sealroom.catalog")

DESTINATION = "catalog"
OUTBOX_DIR = "outbox"
ITEM_KIND = "catalog_event"
STORED_KIND: dict[Location, EventKind] = {
    "spool": "sealed",
    "bucket": "uploaded",
    "released": "released",
}


def catalog_outbox(data_root: Path) -> Outbox:
    """The queue of catalog events of the installation at ``data_root``."""
    return Outbox(data_root / OUTBOX_DIR, DESTINATION)


class CatalogReporter:
    """Queues a catalog event at each step of each session; ``wake`` (the sender's) sends it
    at once. Never raises."""

    def __init__(self, outbox: Outbox, *, wake: Callable[[], None] | None = None) -> None:
        self.outbox = outbox
        self.wake = wake

    def linked(self, session_id: str, chain: ChainState, link: Link) -> None:
        if chain.length == 1:
            kind: EventKind = "started"
        elif link.segment is not None:
            kind = "segments"
        else:
            return  # pauses and the like: the next segment or the seal carries them
        self._queue(lambda: CatalogEvent.of_chain(kind, session_id, chain))

    def sealed(self, manifest: Manifest) -> None:
        kind: EventKind = "interrupted" if manifest.interrupted else "sealed"
        self._queue(lambda: CatalogEvent.of_manifest(kind, manifest))

    def stored(self, reader: EvidenceReader, session_id: str, location: Location) -> None:
        """The session is now in ``location`` (read its manifest from ``reader`` first)."""
        try:
            manifest = read_manifest(reader, session_id)
        except SealroomError as exc:
            log.error("catalog: no event for %s (%s): %s", session_id, location, exc)
            return
        self._queue(lambda: CatalogEvent.of_manifest(STORED_KIND[location], manifest, location))

    def _queue(self, make: Callable[[], CatalogEvent]) -> None:
        try:
            event = make()
            self.outbox.put(ITEM_KIND, event.model_dump(mode="json"))
        except (OSError, ValidationError) as exc:  # a full disk, or a session we cannot describe
            log.error("catalog: an event could not be queued: %s", exc)
            return
        if self.wake is not None:
            self.wake()
