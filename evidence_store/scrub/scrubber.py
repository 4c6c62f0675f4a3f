"""Scrubbing: verifying every stored session again, in the local store and in the bucket,
without anyone asking, so that a bit that rotted or a file that was changed is found while
the other copy is still good.

- **Everything sealed, both places.** Each sealed session of the local store, then of the
  bucket (first versions, as ``verify --store s3``), is verified completely (``verify_session``:
  every segment hashed, every signature, the seal, the time-stamp tokens when the authority's
  root is known). A session still being recorded, or still being uploaded, is skipped.
- **Gently.** Reading is paced to ``[evidence.operations] scrub_bytes_per_second``: the disk
  and the site link are the recorder's and the uploader's first.
- **Resumable.** The state (``evidence_store.scrub.state``) is saved after every session;
  a pass cut off goes on after the last session it finished.
- **Loud.** A session that does not verify is an alarm (logged, ``alarm`` in the custody log
  with kind ``verification_failed``, the first failure and its reason) and stays listed in
  the state until it verifies again; every session scrubbed is a ``scrub`` custody event.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from evidence_store import layout
from evidence_store.custody import CustodyLog
from evidence_store.errors import IncompleteError, UsageError, VerificationError, reason_fields
from evidence_store.installation import DataDir
from evidence_store.scrub.state import ScrubState
from evidence_store.signing import TrustStore
from evidence_store.store import BrowsableStore
from evidence_store.timefmt import format_utc, utc_now
from evidence_store.timestamping import token_verifier
from evidence_store.verify import verify_session

log = logging.getLogger("sealroom.scrub")
STORES = ("local", "bucket")


class ScrubStopped(Exception):
    """The stop event was set: the session in progress is left for the next run."""


class Pace:
    """Paces reading to ``bytes_per_second`` across every hashing thread; raises
    ScrubStopped at the next chunk once ``stop`` is set."""

    def __init__(
        self,
        bytes_per_second: float,
        stop: threading.Event,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = float(bytes_per_second)
        self.stop = stop
        self.clock = clock
        self._lock = threading.Lock()
        self._next_free = 0.0
        self.bytes = 0

    def __call__(self, size: int) -> None:
        if self.stop.is_set():
            raise ScrubStopped
        with self._lock:
            now = self.clock()
            start = max(now, self._next_free)
            self._next_free = start + size / self.rate
            self.bytes += size
        if start > now and self.stop.wait(start - now):
            raise ScrubStopped


@dataclass
class ScrubResult:
    store: str
    session_id: str
    result: str  # intact, tampered, incomplete, untrusted, custody…, or skipped
    bytes: int
    location: str | None = None
    reason: str | None = None

    @property
    def failed(self) -> bool:
        return self.result not in {"intact", "skipped"}


@dataclass
class PassReport:
    """One run of ``Scrubber.run_pass``: what it verified and what failed."""

    complete: bool  # False: stopped part-way, resumed by the next run
    results: list[ScrubResult] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[ScrubResult]:
        return [r for r in self.results if r.failed]

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "stores": self.stores,
            "sessions": len([r for r in self.results if r.result != "skipped"]),
            "skipped": len([r for r in self.results if r.result == "skipped"]),
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "failures": [r.__dict__ for r in self.failures],
        }


class Scrubber:
    """Scrubs one installation's stores. ``bucket`` opens the object store (None: there is
    none configured); ``on_result`` hears of each session (for metrics)."""

    def __init__(
        self,
        data: DataDir,
        *,
        stores: tuple[str, ...] = STORES,
        bytes_per_second: float | None = None,
        bucket: Callable[[], BrowsableStore] | None = None,
        on_result: Callable[[ScrubResult], None] | None = None,
    ) -> None:
        self.data = data
        self.stores = stores
        self.rate = bytes_per_second or data.settings.operations.scrub_bytes_per_second
        self.bucket = bucket
        self.on_result = on_result
        self.actor = f"scrub@{socket.gethostname()}"
        self._custody: CustodyLog | None = None

    def run_pass(self, stop: threading.Event | None = None) -> PassReport:
        """Scrub from where the last run stopped to the end; the state says a complete pass
        ended, and the next run starts a new one."""
        stop = stop or threading.Event()
        began = time.monotonic()
        state = ScrubState.load_or_new(self.data)
        if state.pass_started is None:
            state.pass_started = format_utc(utc_now())
            state.cursor, state.bytes_verified, state.sessions_verified = {}, 0, 0
            state.save()
        report = PassReport(complete=False)
        trust = self.data.trust()
        try:
            for name, store in self._stores():
                report.stores.append(name)
                for session_id in self._sessions(store, state.cursor.get(name)):
                    result = self._scrub(name, store, session_id, trust, stop)
                    report.results.append(result)
                    self._remember(state, result)
        except ScrubStopped:
            report.seconds = time.monotonic() - began
            return report
        state.last_pass_started, state.last_pass_end = state.pass_started, format_utc(utc_now())
        state.pass_started = None
        state.cursor = {}
        state.save()
        report.complete = True
        report.seconds = time.monotonic() - began
        return report

    def _stores(self) -> Iterator[tuple[str, BrowsableStore]]:
        if "local" in self.stores and self.data.evidence.is_dir():
            yield "local", self.data.store()
        if "bucket" in self.stores and self.bucket is not None:
            yield "bucket", self.bucket()

    @staticmethod
    def _sessions(store: BrowsableStore, after: str | None) -> list[str]:
        found = [
            name
            for name in store.list_children(layout.SESSIONS)
            if layout.SESSION_ID_RE.fullmatch(name)
        ]
        return [s for s in sorted(found) if after is None or s > after]

    def _scrub(
        self,
        name: str,
        store: BrowsableStore,
        session_id: str,
        trust: TrustStore,
        stop: threading.Event,
    ) -> ScrubResult:
        prefix = layout.session_prefix(session_id)
        if not (
            store.exists(prefix + layout.MANIFEST) or store.exists(prefix + layout.MANIFEST_SIG)
        ):
            return ScrubResult(name, session_id, "skipped", 0, reason="not sealed yet")
        pace = Pace(self.rate, stop)
        try:
            verify_session(
                store, session_id, trust, progress=pace, tokens=token_verifier(self.data.settings)
            )
            result = ScrubResult(name, session_id, "intact", pace.bytes)
        except IncompleteError as failure:
            if name == "bucket" and not store.exists(prefix + layout.MANIFEST_SIG):
                return ScrubResult(name, session_id, "skipped", pace.bytes, reason="uploading")
            result = _failed(name, session_id, pace.bytes, failure)
        except VerificationError as failure:
            result = _failed(name, session_id, pace.bytes, failure)
        self._record(result)
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _remember(self, state: ScrubState, result: ScrubResult) -> None:
        key = f"{result.store}:{result.session_id}"
        if result.failed:
            if key not in state.failures:
                self._alarm(result)
            state.failures[key] = {
                "at": format_utc(utc_now()),
                "result": result.result,
                "location": result.location,
                "reason": result.reason,
            }
        elif result.result == "intact":
            state.failures.pop(key, None)
        state.cursor[result.store] = result.session_id
        state.bytes_verified += result.bytes
        state.sessions_verified += result.result != "skipped"
        state.save()

    def custody(self) -> CustodyLog:
        if self._custody is None:
            store = self.data.store(create=True)
            self._custody = self.data.custody(store, self.data.signer())
        return self._custody

    def _record(self, result: ScrubResult) -> None:
        detail: dict[str, Any] = {
            "store": result.store,
            "result": result.result,
            "bytes": result.bytes,
        }
        if result.failed:
            detail.update(location=result.location, reason=result.reason)
            detail.update(reason_fields(result.reason))  # its code, for the console's language
        self.custody().record(
            actor=self.actor,
            role="system",
            action="scrub",
            session_id=result.session_id,
            detail=detail,
        )

    def _alarm(self, result: ScrubResult) -> None:
        where = f"{result.location}: " if result.location else ""
        reason = (
            f"{result.store} copy {result.result.upper()}: first failure: {where}{result.reason}"
        )
        log.error("ALARM (verification_failed) %s: %s", result.session_id, reason)
        self.custody().record(
            actor=self.actor,
            role="system",
            action="alarm",
            session_id=result.session_id,
            detail={
                "kind": "verification_failed",
                "reason": reason,
                "store": result.store,
                "result": result.result,
                "location": result.location,
                **reason_fields(result.reason),
            },
        )


def _failed(store: str, session_id: str, size: int, failure: VerificationError) -> ScrubResult:
    return ScrubResult(store, session_id, failure.kind, size, failure.location, failure.reason)


def scrub_forever(scrubber: Scrubber, stop: threading.Event, *, interval_seconds: float) -> None:
    """The background job: a pass, then wait ``interval_seconds`` after the last complete
    pass ended, and again, until ``stop``. A pass cut off is resumed at once."""
    while not stop.is_set():
        try:
            report = scrubber.run_pass(stop)
        except UsageError:
            raise
        except Exception:  # the store unreachable for a while: try again later
            log.exception("scrub pass failed; trying again after the interval")
            report = PassReport(complete=True)
        if report.complete:
            log.info(
                "scrub pass: %d session(s), %d byte(s), %d failure(s) in %.0f s",
                len(report.results),
                report.bytes,
                len(report.failures),
                report.seconds,
            )
            stop.wait(interval_seconds)
