"""Delivering the catalog outbox: into this machine's own catalog (one machine, embedded), or
over HTTPS to the console's ingest endpoint, as this room, with its own credential.

Why HTTP and not a database connection from the appliance: appliances sit in district
offices on slow, untrusted networks. A database login on every appliance would be a
credential that reads and writes every room's rows (and the users, and custody); the ingest
endpoint accepts only events, only about sessions of the room whose credential signed them
in, and only ever moves a row forward. It also travels as ordinary HTTPS through the site's
TLS proxy, and a slow link costs a retry, never a held database lock.

Answers map onto the outbox's outcomes: 2xx delivered; 400, 409, 413 and 422 refused for
good (a malformed event, another room's session): set aside for a person; anything else
(down, 5xx, 401/403 while a credential is being fixed) deferred, in order.
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from evidence_store.bucket import RetentionPolicy
from evidence_store.errors import UsageError
from evidence_store.index.events import CatalogEvent
from evidence_store.index.reporter import CatalogReporter, catalog_outbox
from evidence_store.index.session_index import CatalogConflict, SessionIndex
from evidence_store.installation import DataDir
from evidence_store.outbox import DeliveryDeferred, DeliveryRefused, OutboxItem, OutboxSender, Route
from evidence_store.settings import CatalogSettings

log = logging.getLogger("sealroom.catalog")

INGEST_PATH = "/api/catalog/events"
ROOM_HEADER = "X-Sealroom-Room"
REFUSED_STATUSES = frozenset({400, 409, 413, 422})
TIMEOUT_SECONDS = 10.0


def parse_event(item: OutboxItem) -> CatalogEvent:
    try:
        return CatalogEvent.model_validate(item.payload)
    except ValidationError as exc:
        raise DeliveryRefused(f"not a catalog event: {exc.errors()[0]['msg']}") from exc


class LocalDelivery:
    """Into the catalog database of this machine (opened at the first event)."""

    def __init__(self, url: str, policy: RetentionPolicy | None = None) -> None:
        self.url = url
        self.policy = policy
        self._index: SessionIndex | None = None
        self._lock = threading.Lock()

    def __call__(self, item: OutboxItem) -> None:
        event = parse_event(item)
        try:
            with self._lock:
                if self._index is None:
                    self._index = SessionIndex.open(self.url, policy=self.policy)
            self._index.record(event, room=None)
        except CatalogConflict as exc:
            raise DeliveryRefused(str(exc)) from exc
        except SQLAlchemyError as exc:
            raise DeliveryDeferred(f"catalog database: {type(exc).__name__}") from exc

    def close(self) -> None:
        if self._index is not None:
            self._index.close()


class HttpDelivery:
    """To the console's ingest endpoint, as ``room`` with its ``token``."""

    def __init__(self, url: str, room: str, token: str, *, ca_file: Path | None = None) -> None:
        if not url.startswith(("https://", "http://")):
            raise UsageError(f"the catalog's address is http(s)://host[:port], not {url!r}")
        self.endpoint = url.rstrip("/") + INGEST_PATH
        self.room = room
        self.token = token
        self.context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def __call__(self, item: OutboxItem) -> None:
        event = parse_event(item)
        request = urllib.request.Request(  # noqa: S310 -- the scheme is checked in __init__
            self.endpoint,
            data=json.dumps(event.model_dump(mode="json"), ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
                ROOM_HEADER: self.room,
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=TIMEOUT_SECONDS, context=self.context
            ):
                return
        except urllib.error.HTTPError as exc:
            reason = _reason(exc)
            if exc.code in REFUSED_STATUSES:
                raise DeliveryRefused(f"the catalog refused it ({exc.code}): {reason}") from exc
            raise DeliveryDeferred(f"the catalog answered {exc.code}: {reason}") from exc
        except (OSError, ValueError) as exc:
            raise DeliveryDeferred(f"the catalog is unreachable: {exc}") from exc


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read(2000)).get("error", ""))[:300]
    except (OSError, ValueError, AttributeError):
        return ""


def catalog_route(
    data_root: Path,
    settings: CatalogSettings,
    index_url: str,
    environ: Mapping[str, str] | None = None,
    policy: RetentionPolicy | None = None,
) -> Route:
    """The catalog outbox of ``data_root`` and where it goes: the console named by
    ``settings`` (and the environment), else the catalog at ``index_url``."""
    settings = settings.with_environment(environ)
    outbox = catalog_outbox(data_root)
    if not settings.url:
        return Route(outbox, LocalDelivery(index_url, policy))
    if not settings.room:
        raise UsageError(
            "the catalog needs this appliance's room: SEALROOM_CATALOG_ROOM or "
            "[evidence.catalog] room"
        )
    token = settings.token(environ)
    return Route(outbox, HttpDelivery(settings.url, settings.room, token, ca_file=settings.ca_file))


def catalog_sender(
    data_root: Path,
    settings: CatalogSettings,
    index_url: str,
    environ: Mapping[str, str] | None = None,
    policy: RetentionPolicy | None = None,
) -> OutboxSender:
    """A sender of the catalog outbox (not started)."""
    return OutboxSender([catalog_route(data_root, settings, index_url, environ, policy)])


@contextlib.contextmanager
def reporting(data: DataDir, environ: Mapping[str, str] | None = None) -> Iterator[CatalogReporter]:
    """A reporter of ``data``'s sessions and a sender delivering its events in the background
    for as long as the block runs; what is still queued at the end is tried once more, then
    left for the next sender (the uploader's, the service's). UsageError at once when the
    catalog's settings are incomplete."""
    policy = RetentionPolicy(data.settings.s3.retention)
    sender = catalog_sender(data.root, data.settings.catalog, data.index_url(), environ, policy)
    reporter = CatalogReporter(catalog_outbox(data.root), wake=sender.wake)
    sender.start()
    try:
        yield reporter
    finally:
        try:
            sender.drain_once()
        except Exception:  # best effort: the items stay queued for the next sender
            log.exception("catalog: the last delivery failed")
        sender.stop()
