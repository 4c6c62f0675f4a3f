"""Sending queued stamps: the file is read back and checked against the digest it had when it
was queued, stamped, and the checked token stored beside it, write-once.

What the authority's time says about the device's clock is in the ``StampRecord`` handed
to ``on_stamped``. The authority's time (genTime) is when it saw the request, so it is
compared with when the request was *sent*, on the device's clock, not with when the item was
queued: a queue that waited an hour for the authority is late, not wrong. The device's clock
is wrong when genTime falls outside [sent, sent + round trip], widened by the tolerance and
by one second (genTime is read to the second).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from evidence_store.errors import TamperedError
from evidence_store.outbox import DeliveryDeferred, DeliveryRefused, OutboxItem
from evidence_store.session import WallClock
from evidence_store.store import FilesystemStore
from evidence_store.timefmt import format_utc, parse_utc, utc_now
from evidence_store.timestamping.client import TsaClient, TsaRefused, TsaUnavailable
from evidence_store.tokens import token_name

log = logging.getLogger("sealroom.timestamping")

GEN_TIME_RESOLUTION = 1.0  # seconds: rfc3161-client reads genTime to the second
STAMPED_PREFIXES = ("sessions/", "custody/checkpoints/")


@dataclass(frozen=True)
class StampRecord:
    """One token received: what it stamps, and the times that tell a late queue from a
    wrong clock."""

    key: str  # the stamped file's store key
    session_id: str | None  # None: a custody checkpoint
    device_time: str  # the device's time in the stamped file
    queued_at: str  # when the item was queued (this machine's clock)
    sent_at: datetime  # when the request left, on the device's clock
    round_trip_seconds: float
    tsa_time: datetime  # the authority's time (genTime)

    @property
    def token_key(self) -> str:
        return token_name(self.key)

    @property
    def late_seconds(self) -> float:
        """How long after the device's time in the file the authority stamped it."""
        return (self.tsa_time - parse_utc(self.device_time)).total_seconds()

    @property
    def waited_seconds(self) -> float:
        """How long the request waited to be sent, on the device's clock."""
        return (self.sent_at - parse_utc(self.device_time)).total_seconds()

    def skew_seconds(self, tolerance: float) -> float | None:
        """How far the authority's time is outside what the device's clock allows (positive:
        the device's clock is behind; negative: ahead), or None when they agree."""
        slack = timedelta(seconds=tolerance + GEN_TIME_RESOLUTION)
        earliest = self.sent_at - slack
        latest = self.sent_at + timedelta(seconds=self.round_trip_seconds) + slack
        if self.tsa_time < earliest:
            return (self.tsa_time - self.sent_at).total_seconds()
        if self.tsa_time > latest:
            return (self.tsa_time - self.sent_at).total_seconds() - self.round_trip_seconds
        return None

    def as_detail(self) -> dict[str, Any]:
        """The custody record of the stamp: both times, and what they say (in milliseconds:
        custody details are canonical JSON, which has no floating-point numbers)."""
        return {
            "file": self.key.removeprefix(f"sessions/{self.session_id}/"),
            "token": self.token_key.removeprefix(f"sessions/{self.session_id}/"),
            "device_time": self.device_time,
            "queued_at": self.queued_at,
            "sent_at": format_utc(self.sent_at),
            "tsa_time": format_utc(self.tsa_time),
            "late_ms": round(self.late_seconds * 1000),
            "waited_ms": round(self.waited_seconds * 1000),
            "round_trip_ms": round(self.round_trip_seconds * 1000),
        }


StampedHook = Callable[[StampRecord], None]


class StampDelivery:
    """The outbox delivery of the ``tsa`` destination (an ``evidence_store.outbox.Route``'s
    ``deliver``). ``clock`` is the device's clock, the one that wrote the stamped files."""

    def __init__(
        self,
        store: FilesystemStore,
        client: TsaClient,
        *,
        clock: WallClock = utc_now,
        on_stamped: StampedHook | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.on_stamped = on_stamped

    def __call__(self, item: OutboxItem) -> None:
        key, data = self._stamped_file(item)
        token_key = token_name(key)
        if self.store.exists(token_key):
            self._already_stamped(key, data, token_key)
            return
        sent_at = self.clock()
        started = time.monotonic()
        try:
            reply = self.client.stamp(data)
        except TsaUnavailable as exc:
            raise DeliveryDeferred(str(exc)) from exc
        except TsaRefused as exc:
            raise DeliveryRefused(str(exc)) from exc
        round_trip = time.monotonic() - started
        self.store.put_bytes(token_key, reply)  # write-once, fsynced
        record = StampRecord(
            key=key,
            session_id=_optional_str(item.payload.get("session")),
            device_time=str(item.payload["device_time"]),
            queued_at=item.queued_at,
            sent_at=sent_at,
            round_trip_seconds=round_trip,
            tsa_time=self.client.verifier(data, reply, location=token_key),
        )
        if self.on_stamped is not None:
            try:
                self.on_stamped(record)
            except Exception:  # the token is kept; what follows from it must not resend it
                log.exception("%s: stamped, but what follows from the stamp failed", key)

    def _stamped_file(self, item: OutboxItem) -> tuple[str, bytes]:
        """The file to stamp, as it was when it was queued; refused for good otherwise."""
        try:
            key = str(item.payload["key"])
            digest = str(item.payload["sha256"])
            parse_utc(str(item.payload["device_time"]))
        except (KeyError, ValueError) as exc:
            raise DeliveryRefused(f"not a time-stamp request: {exc}") from exc
        if not key.startswith(STAMPED_PREFIXES) or not key.endswith(".json") or ".." in key:
            raise DeliveryRefused(f"{key}: not a file that is time-stamped")
        if not self.store.exists(key):
            raise DeliveryRefused(f"{key} is no longer in the local store")
        data = self.store.read_bytes(key)
        if hashlib.sha256(data).hexdigest() != digest:
            raise DeliveryRefused(f"{key} changed after it was queued; not stamped")
        return key, data

    def _already_stamped(self, key: str, data: bytes, token_key: str) -> None:
        """A token is there already (sent before a crash let the item be removed): done if it
        verifies; a person must look at one that does not."""
        try:
            self.client.verifier(data, self.store.read_bytes(token_key), location=token_key)
        except TamperedError as exc:
            raise DeliveryRefused(f"{token_key} is already there and fails: {exc.reason}") from exc
        log.info("%s was stamped already", key)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)
