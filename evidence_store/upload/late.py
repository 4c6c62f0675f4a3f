"""Files that join a session after its heads were written: the witness's receipts
(``witness/NNNNNN.json``, ``witness/manifest.json``). They are not in ``SHA256SUMS`` and may
arrive after the session was uploaded, or after its spool copy was released.

Each one is stored once, in the session's folder when the spool still holds the session,
else under ``<evidence>/late-files/sessions/<id>/...`` (never recreating a released session's
folder), and queued in the ``bucket`` outbox. The uploader drains that queue after each pass
(``LateFileUpload``): a file goes up only once the head it is about is in the bucket (so the
bucket never holds a receipt for a link it lacks), with the session's retention, by the same
conditional, checked write as every object. A copy under ``late-files/`` is deleted once it is
confirmed in the bucket, with a custody event; one in a session's folder leaves with the
session's release, which confirms it first.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from evidence_store import layout
from evidence_store.bucket import (
    ObjectConflictError,
    ObjectStoreUnavailableError,
    RetentionPolicy,
    S3Store,
)
from evidence_store.durable import READ_ONLY, fsync_directory, write_once
from evidence_store.errors import TamperedError
from evidence_store.model import Link
from evidence_store.outbox import DeliveryDeferred, DeliveryRefused, Outbox, OutboxItem
from evidence_store.store import FilesystemStore
from evidence_store.timefmt import parse_utc

log = logging.getLogger("sealroom.uploader")

DESTINATION = "bucket"
KIND = "late_file"
LATE_FILES = "late-files"


def is_late_file(relative: str) -> bool:
    """Whether a session-relative path is one that joins a session late (not in SHA256SUMS)."""
    return relative.startswith(layout.WITNESS_DIR)


def late_copy(store: FilesystemStore, session_id: str, relative: str) -> Path:
    """Where a late file of a session the spool no longer holds is kept until it is uploaded."""
    return store.root / LATE_FILES / layout.session_prefix(session_id) / relative


def store_late_file(
    store: FilesystemStore, session_id: str, relative: str, data: bytes
) -> tuple[Path, bool]:
    """Keep a late file, write-once: in the session's folder while the spool holds the
    session, else in ``late-files/``. Returns where, and whether this call wrote it (False:
    the same bytes were there). ``NameTaken`` when other bytes are."""
    prefix = layout.session_prefix(session_id)
    if store.exists(prefix + layout.link_name(0)):
        path = store.path(prefix + relative)
    else:
        path = late_copy(store, session_id, relative)
    return path, write_once(path, data, mode=READ_ONLY)


def queue_late_file(
    outbox_root: Path, session_id: str, relative: str, data: bytes, *, after: str
) -> None:
    """Queue a late file for the bucket; it goes up once ``after`` (session-relative) is
    there."""
    Outbox(outbox_root, DESTINATION).put(
        KIND,
        {
            "session": session_id,
            "file": relative,
            "sha256": hashlib.sha256(data).hexdigest(),
            "after": after,
        },
    )


class LateFileUpload:
    """The uploader's delivery for the ``bucket`` outbox: one late file per item."""

    def __init__(
        self,
        spool: FilesystemStore,
        policy: RetentionPolicy,
        bucket: Callable[[], S3Store],
        send: Callable[[S3Store, str, bytes, datetime, str], None],
        record: Callable[[str, str | None, dict[str, Any]], None],
    ) -> None:
        self.spool = spool
        self.policy = policy
        self.bucket = bucket
        self.send = send  # (store, key, data, retain_until, session_id): conditional, checked
        self.record = record  # a custody event

    def __call__(self, item: OutboxItem) -> None:
        try:
            self._deliver(item.payload)
        except ObjectStoreUnavailableError as exc:
            raise DeliveryDeferred(str(exc)) from exc
        except ObjectConflictError as exc:
            raise DeliveryRefused(f"{exc}: the bucket holds other bytes") from exc

    def _deliver(self, payload: dict[str, Any]) -> None:
        try:
            session_id = layout.check_session_id(str(payload["session"]))
            relative, digest, after = str(payload["file"]), str(payload["sha256"]), payload["after"]
        except (KeyError, ValueError) as exc:
            raise DeliveryRefused(f"not a late-file item: {exc}") from exc
        if not is_late_file(relative):
            raise DeliveryRefused(f"{relative} is not a file that joins a session late")
        prefix = layout.session_prefix(session_id)
        store = self.bucket()
        if store.head(prefix + str(after)) is None:
            raise DeliveryDeferred(f"waiting for {prefix}{after} to reach the bucket")
        in_session = self.spool.path(prefix + relative)
        late = late_copy(self.spool, session_id, relative)
        source = in_session if in_session.is_file() else late if late.is_file() else None
        if source is None:
            there = store.head(prefix + relative)
            if there is not None and there.sha256 == digest:
                return  # uploaded before, and the local copy released since
            raise DeliveryRefused(f"{prefix}{relative} is no longer in the spool")
        data = source.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise DeliveryRefused(f"{prefix}{relative} changed since it was queued: not uploaded")
        self.send(store, prefix + relative, data, self._retain_until(store, prefix), session_id)
        if source == late:
            late.unlink()
            fsync_directory(late.parent)
            self.record("release", session_id, {"key": prefix + relative, "late_file": True})
            log.info("uploaded the late file %s%s and released its local copy", prefix, relative)

    def _retain_until(self, store: S3Store, prefix: str) -> datetime:
        """The session's retention: from link 0, in the spool or else in the bucket."""
        key = prefix + layout.link_name(0)
        body = self.spool.read_bytes(key) if self.spool.exists(key) else store.read_bytes(key)
        try:
            link = Link.parse(body, location=layout.link_name(0))
        except TamperedError as exc:
            raise DeliveryDeferred(f"link 0 cannot be read for the retention: {exc}") from exc
        event = link.event
        if event is None or event.metadata is None:
            raise DeliveryRefused("link 0 does not start a session: no retention to give")
        return self.policy.session_until(event.metadata, parse_utc(link.time))
