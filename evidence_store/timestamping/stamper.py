"""What is time-stamped, queued for the authority without waiting for it.

The session's start (link 0), the chain's head at most every ``interval_seconds`` while it
grows, and the seal (``manifest.json``) of every session; and every custody checkpoint.
Each is an outbox item naming the store key of the file, the SHA-256 it had when it was
queued and the device's time in it; the token comes back beside the file
(``evidence_store.timestamping.delivery``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable

from evidence_store import layout
from evidence_store.outbox import Outbox, OutboxItem
from evidence_store.session import SignedHead

TSA_OUTBOX = "tsa"  # the outbox destination of time-stamp requests
STAMP = "stamp"  # the kind of its items


class Stamper:
    """Decides which heads to stamp and queues them. Thread-safe; never touches the network.

    ``wake`` is called after each item is queued (an ``OutboxSender``'s, to send at once).
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        interval_seconds: float,
        wake: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.interval_seconds = interval_seconds
        self._wake = wake
        self._monotonic = monotonic
        self._last: dict[str, float] = {}  # session -> when its head was last queued
        self._lock = threading.Lock()

    def on_head(self, head: SignedHead) -> None:
        """A ``SessionWriter`` hook: queue link 0, the seal, and a head per interval."""
        sealed = head.kind == "seal"
        now = self._monotonic()
        with self._lock:
            last = self._last.get(head.session_id)
            due = sealed or head.seq == 0 or last is None or now - last >= self.interval_seconds
            if not due:
                return
            if sealed:
                self._last.pop(head.session_id, None)
            else:
                self._last[head.session_id] = now
        name = layout.MANIFEST if sealed or head.seq is None else layout.link_name(head.seq)
        # The device's time in the document: the writer wrote it canonical a moment ago.
        document = json.loads(head.data)
        device_time = str(document["ended_at"] if sealed else document["time"])
        key = layout.session_prefix(head.session_id) + name
        self.queue(key, head.data, device_time=device_time, session_id=head.session_id)

    def on_checkpoint(self, key: str, body: bytes, at: str) -> None:
        """A ``CustodyLog`` hook: queue the checkpoint just written at ``key``."""
        self.queue(key, body, device_time=at, session_id=None)

    def queue(
        self, key: str, body: bytes, *, device_time: str, session_id: str | None
    ) -> OutboxItem:
        """Queue the file at ``key`` (whose bytes are ``body``) to be stamped."""
        payload: dict[str, str] = {
            "key": key,
            "sha256": hashlib.sha256(body).hexdigest(),
            "device_time": device_time,
        }
        if session_id is not None:
            payload["session"] = session_id
        item = self.outbox.put(STAMP, payload)
        if self._wake is not None:
            self._wake()
        return item
