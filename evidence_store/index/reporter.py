"""A room appliance telling the catalog about its sessions as they happen, without ever
making the recording wait.

``CatalogReporter.on_head`` is a session writer's hook (``SessionWriter(on_head=...)``,
beside the time-stamp authority's: ``fan_out``): link 0 is "started", each sealed segment
"segments" (count and head), the seal "sealed" or "interrupted" (a recovered session); the
uploader adds "uploaded" and "released" (``stored``). Each event is one small file in the
``catalog`` outbox (``<data_dir>/outbox/catalog/``); the outbox's sender delivers them
(``delivery``). A disk too full to take one loses the event, never the recording: reconcile
finds the session later.

What an open session's event says is read from its links as they pass: link 0 gives the
metadata and start, each segment link the count, the media so far and the duration. A
session this reporter did not see start (one recovery picks up) is reported from its seal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from evidence_store import layout
from evidence_store.chain import link_digest
from evidence_store.errors import SealroomError
from evidence_store.index.events import CatalogEvent, EventKind, Location
from evidence_store.index.summary import read_manifest
from evidence_store.model import Link, Manifest, SessionMetadata
from evidence_store.outbox import Outbox
from evidence_store.session import SignedHead
from evidence_store.store import EvidenceReader
from evidence_store.timefmt import format_utc, utc_now

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


@dataclass
class _Open:
    """What the reporter knows of a session it saw start."""

    metadata: SessionMetadata
    started_at: str
    media_bytes: int = 0


class CatalogReporter:
    """Queues a catalog event at each step of each session; ``wake`` (the sender's) sends it
    at once. Never raises."""

    def __init__(self, outbox: Outbox, *, wake: Callable[[], None] | None = None) -> None:
        self.outbox = outbox
        self.wake = wake
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()  # writers of several sessions may share a reporter

    def on_head(self, head: SignedHead) -> None:
        """The session writer's hook: each signed link, and the seal."""
        try:
            if head.kind == "seal":
                manifest = Manifest.parse(head.data, location="manifest.json")
                with self._lock:
                    self._open.pop(manifest.session, None)
                self.sealed(manifest)
            else:
                self._linked(head.session_id, Link.parse(head.data, location="link"), head.data)
        except SealroomError as exc:  # the writer wrote it; we only failed to read it
            log.error("catalog: no event for %s: %s", head.session_id, exc)

    def _linked(self, session_id: str, link: Link, data: bytes) -> None:
        with self._lock:
            if link.seq == 0 and link.event is not None and link.event.metadata is not None:
                self._open[session_id] = _Open(link.event.metadata, link.time)
                kind: EventKind = "started"
            elif link.segment is not None and session_id in self._open:
                self._open[session_id].media_bytes += link.segment.size
                kind = "segments"
            else:
                return  # pauses and the like: the next segment or the seal carries them
            known = self._open[session_id]
            segment = link.segment
            event = {
                "kind": kind,
                "session_id": session_id,
                "at": format_utc(utc_now()),
                "state": "open",
                "links": link.seq + 1,
                "head": link_digest(data),
                "metadata": known.metadata,
                "started_at": known.started_at,
                "duration_us": segment.start_us + segment.duration_us if segment else 0,
                "segments": segment.index + 1 if segment else 0,
                "media_bytes": known.media_bytes,
            }
        self._queue(lambda: CatalogEvent.model_validate(event))

    def sealed(self, manifest: Manifest) -> None:
        kind: EventKind = "interrupted" if manifest.interrupted else "sealed"
        self._queue(lambda: CatalogEvent.of_manifest(kind, manifest))

    def stored(self, reader: EvidenceReader, session_id: str, location: Location) -> None:
        """The session is now in ``location`` (read its manifest from ``reader`` first)."""
        try:
            manifest = read_manifest(reader, session_id)
            witnessed = reader.exists(layout.session_prefix(session_id) + layout.SEAL_RECEIPT)
        except SealroomError as exc:
            log.error("catalog: no event for %s (%s): %s", session_id, location, exc)
            return
        self._queue(
            lambda: CatalogEvent.of_manifest(
                STORED_KIND[location], manifest, location, witnessed=witnessed
            )
        )

    def _queue(self, make: Callable[[], CatalogEvent]) -> None:
        try:
            event = make()
            self.outbox.put(ITEM_KIND, event.model_dump(mode="json"))
        except (OSError, ValidationError) as exc:  # a full disk, or a session we cannot describe
            log.error("catalog: an event could not be queued: %s", exc)
            return
        if self.wake is not None:
            self.wake()
