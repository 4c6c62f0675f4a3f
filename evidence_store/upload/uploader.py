"""The uploader: drains the spool (the local write-once store) into the object store.

Guarantees, and how they are kept:

- **Nothing sealed is lost.** A spool file is deleted only when its whole session is sealed,
  every object of it has been looked up in the bucket — the server's own SHA-256 checksum
  equals the sealed digest, the retention is COMPLIANCE and long enough — and the local
  keep-time has passed; then the session leaves the spool in one atomic rename, with a
  custody event. The default keep-time is *forever*.
- **In order.** Sessions oldest first; inside a session the order of ``spool.Spool.plan``,
  so the bucket always holds a valid beginning of each session (no link before its
  segment, no manifest before what it seals). An object that fails is retried, with
  exponential backoff and jitter, before anything after it is sent.
- **Idempotent and resumable.** Writes are conditional (``If-None-Match: *``); an object
  already there with the same digest is accepted, not sent again. Progress is a small state
  file that only saves lookups; multipart uploads resume part by part after a kill.
- **Damaged files never leave as good.** Bytes are hashed as they are sent and compared with
  the digest that seals them; a mismatch is quarantined with a reason, a custody event and
  an alarm, and the upload (or the multipart upload) is never completed.
- **Recording never waits.** The uploader is its own process and only reads the spool.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from evidence_store.bucket import (
    ContentMismatchError,
    ObjectConflictError,
    ObjectStoreUnavailableError,
    RetentionPolicy,
    S3Access,
    S3Store,
    hex_to_base64,
    stored_problems,
)
from evidence_store.custody import CustodyLog
from evidence_store.durable import PRIVATE, replace_atomically
from evidence_store.errors import SealroomError, StoreError, UsageError
from evidence_store.index import CatalogReporter
from evidence_store.installation import DataDir
from evidence_store.outbox import Backoff, Outbox, OutboxSender, Route
from evidence_store.settings import UploaderSettings
from evidence_store.signing import PublicKey
from evidence_store.timefmt import format_utc, utc_now
from evidence_store.upload.late import DESTINATION as LATE_DESTINATION
from evidence_store.upload.late import LateFileUpload
from evidence_store.upload.spool import Damage, Release, SessionPlan, Spool, SpoolObject
from evidence_store.upload.state import StateJournal, UploaderState

log = logging.getLogger("sealroom.uploader")
T = TypeVar("T")
GIB = 1024**3
STATUS_EVERY_SECONDS = 10.0
UPLOADER_DIR = "uploader"
QUARANTINE = "quarantine"


class UploadStopped(Exception):
    """The stop event was set while the uploader waited."""


class DrainTimeoutError(SealroomError):
    """``--drain`` did not empty the backlog within its time limit."""


@dataclass(frozen=True)
class Backlog:
    """What is waiting to leave the room appliance, and what needs a person."""

    objects: int
    bytes: int
    oldest_age_seconds: float | None
    sessions: int  # sessions with objects waiting
    open_sessions: int  # sessions still recording (or cut off and not yet recovered)
    held: dict[str, str] = field(default_factory=dict)  # session -> why it cannot go on
    missing: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)  # session -> key
    quarantined: int = 0
    spool_free_bytes: int = 0
    spool_total_bytes: int = 0
    alarms: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.objects == 0

    @property
    def needs_attention(self) -> bool:
        return bool(self.held or self.missing or self.conflicts or self.quarantined)

    def as_dict(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["oldest_age_seconds"] = (
            None if self.oldest_age_seconds is None else round(self.oldest_age_seconds, 1)
        )
        return document


def spool_alarms(
    settings: UploaderSettings,
    *,
    free: int,
    total: int,
    oldest_age: float | None,
    where: Path,
) -> list[str]:
    """The spool's own alarms: its disk filling, and objects waiting too long."""
    alarms = []
    percent = 100.0 * free / total if total else 0.0
    if free < settings.alarm_free_bytes or percent < settings.alarm_free_percent:
        alarms.append(
            f"spool filling: {free / GIB:.1f} GiB free ({percent:.0f}%) on {where}; "
            "recording stops when the disk is full — bring the object store back or add space"
        )
    if oldest_age is not None and oldest_age > settings.alarm_backlog_age_seconds:
        alarms.append(
            f"upload backlog: the oldest object has waited {oldest_age / 60:.0f} min "
            f"(alarm after {settings.alarm_backlog_age_seconds / 60:.0f} min)"
        )
    return alarms


@dataclass
class UploadCounts:
    """What this uploader has done since it started (its metrics)."""

    objects: int = 0  # sent (objects found already there are not counted)
    bytes: int = 0
    releases: int = 0
    errors: dict[str, int] = field(
        default_factory=lambda: {"unreachable": 0, "refused": 0, "quarantined": 0, "conflict": 0}
    )
    state: str = "starting"  # as the status file says: idle, unreachable, failing, stopped


class RateLimit:
    """Paces uploads to ``bytes_per_second`` (a shared site link), one chunk at a time."""

    def __init__(
        self,
        bytes_per_second: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = float(bytes_per_second)
        self.clock = clock
        self.sleep = sleep
        self.next_free = 0.0

    def __call__(self, size: int) -> None:
        now = self.clock()
        start = max(now, self.next_free)
        self.next_free = start + size / self.rate
        if start > now:
            self.sleep(start - now)


def _pending(objects: list[SpoolObject], last_key: str | None) -> list[SpoolObject]:
    """Objects after the last one confirmed; all of them if it is no longer in the plan."""
    if last_key is None:
        return objects
    for index, item in enumerate(objects):
        if item.key == last_key:
            return objects[index + 1 :]
    return objects


class Uploader:
    """Drains one data directory's spool into one bucket."""

    def __init__(
        self,
        spool: Spool,
        state: UploaderState,
        settings: UploaderSettings,
        *,
        connect: Callable[[], S3Store],
        device_key: PublicKey,
        custody: CustodyLog | None,
        status_path: Path | None = None,
        on_upload: Callable[[SpoolObject], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        catalog: CatalogReporter | None = None,
        outbox_root: Path | None = None,
    ) -> None:
        self.spool = spool
        self.catalog = catalog  # told when a session is whole in the bucket, and released
        self.state = state
        self.settings = settings
        self.connect = connect
        self.device_key = device_key
        self.custody = custody
        self.status_path = status_path
        self.on_upload = on_upload
        self.clock = clock
        self.journal = StateJournal(state)
        self.throttle = (
            RateLimit(settings.max_bytes_per_second) if settings.max_bytes_per_second else None
        )
        self.actor = f"uploader@{socket.gethostname()}"
        self.deadline: float | None = None
        self._store: S3Store | None = None
        self._unreachable_since: datetime | None = None
        self._last_error: str | None = None
        self._last_status = 0.0
        self._last_backlog: Backlog | None = None
        self._alarmed: set[str] = set()
        self._release_after: dict[str, datetime] = {}
        self.counts = UploadCounts()
        self.late_files: OutboxSender | None = None
        if outbox_root is not None:
            upload = LateFileUpload(
                spool.store,
                spool.policy,
                lambda: self._connected(threading.Event()),
                self._send_late,
                lambda action, session_id, detail: self._record(action, session_id, detail),
            )
            backoff = Backoff(settings.backoff_initial_seconds, settings.backoff_max_seconds)
            self.late_files = OutboxSender(
                [Route(Outbox(outbox_root, LATE_DESTINATION), upload, backoff=backoff)]
            )

    def _send_late(
        self, store: S3Store, key: str, data: bytes, until: datetime, session_id: str
    ) -> None:
        """Upload a late file as every object goes up: conditional, checked, retained."""
        item = SpoolObject(
            key=key,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            retain_until=until,
            path=None,
            data=data,
            session_id=session_id,
        )
        self._send(store, item, look_first=True)
        if self.on_upload:
            self.on_upload(item)

    # -- the backlog -----------------------------------------------------------------------

    def backlog(self) -> Backlog:
        """Objects, bytes and age of the oldest object waiting; computed from the spool and
        the state file alone, so it works while the object store is down."""
        now = self.clock().timestamp()
        objects = size = sessions = open_sessions = 0
        oldest: float | None = None
        held: dict[str, str] = {}
        missing: list[str] = []
        conflicts: dict[str, str] = {}
        for session_id in self.spool.session_ids():
            progress = self.state.sessions.get(session_id)
            if progress is not None and progress.done:
                continue
            plan = self.spool.plan(session_id)
            waiting = _pending(plan.objects, progress.last_key if progress else None)
            if waiting:
                sessions += 1
                objects += len(waiting)
                size += sum(o.size for o in waiting)
                first = min(o.mtime for o in waiting)
                oldest = first if oldest is None else min(oldest, first)
            if not plan.sealed:
                open_sessions += 1
            if plan.held:
                held[session_id] = plan.held
            missing += plan.missing
            if progress is not None and progress.conflict:
                conflicts[session_id] = progress.conflict
        checkpoints, problems = self.spool.checkpoints(
            self.device_key, after=self.state.checkpoints_through
        )
        if checkpoints:
            objects += len(checkpoints)
            size += sum(o.size for o in checkpoints)
            first = min(o.mtime for o in checkpoints)
            oldest = first if oldest is None else min(oldest, first)
        if self.late_files is not None:
            for route in self.late_files.routes:  # receipts that joined sessions late
                waiting_late = route.outbox.backlog()
                objects += waiting_late.items
                size += waiting_late.bytes
                if waiting_late.oldest_seconds is not None:
                    first = now - waiting_late.oldest_seconds
                    oldest = first if oldest is None else min(oldest, first)
                if waiting_late.refused:
                    problems.append(
                        f"{waiting_late.refused} late file(s) refused by the bucket, kept in "
                        f"{route.outbox.folder / 'refused'}"
                    )
        free, total = self.spool.disk()
        age = None if oldest is None else max(0.0, now - oldest)
        alarms = spool_alarms(
            self.settings, free=free, total=total, oldest_age=age, where=self.spool.store.root
        )
        quarantined = self.spool.quarantine_count()
        if quarantined:
            alarms.append(
                f"{quarantined} damaged spool file(s) in quarantine at "
                f"{self.spool.quarantine_root}; they were not uploaded"
            )
        alarms += [f"session {sid} held: {why}" for sid, why in held.items()]
        alarms += [f"sealed file missing from the spool: {key}" for key in missing]
        alarms += [f"{key} holds other bytes in the bucket" for key in conflicts.values()]
        alarms += problems
        return Backlog(
            objects=objects,
            bytes=size,
            oldest_age_seconds=age,
            sessions=sessions,
            open_sessions=open_sessions,
            held=held,
            missing=missing,
            conflicts=conflicts,
            quarantined=quarantined,
            spool_free_bytes=free,
            spool_total_bytes=total,
            alarms=alarms,
        )

    # -- running ---------------------------------------------------------------------------

    def run(
        self, stop: threading.Event, *, drain: bool = False, timeout: float | None = None
    ) -> Backlog:
        """Pass over the spool until stopped; with ``drain``, until nothing is waiting.
        Raises DrainTimeoutError when ``timeout`` seconds pass first."""
        self.deadline = time.monotonic() + timeout if timeout is not None else None
        backoff = Backoff(self.settings.backoff_initial_seconds, self.settings.backoff_max_seconds)
        while not stop.is_set():
            try:
                self.run_pass(stop)
                backoff.reset()
            except UploadStopped:
                break
            except DrainTimeoutError:
                self._write_status("stopped", refresh=True)
                raise
            except StoreError as exc:  # not an outage: a refusal (credentials, bucket, …)
                self.counts.errors["refused"] += 1
                self._last_error = str(exc)
                log.error("upload pass failed: %s", exc)
                self._write_status("failing", refresh=True)
                if drain:
                    raise
                if stop.wait(backoff.next_delay()):
                    break
                continue
            backlog = self._write_status("idle", refresh=True)
            if drain and backlog.empty:
                return backlog
            self._check_deadline()
            if stop.wait(0.05 if drain else self.settings.poll_seconds):
                break
        return self._write_status("stopped", refresh=True)

    def run_pass(self, stop: threading.Event) -> None:
        """One sweep: finish interrupted releases, every session in order, custody, then the
        files that joined sessions late (the witness's receipts)."""
        store = self._connected(stop)
        self._finish_releases()
        for session_id in self.spool.session_ids():
            self._session(store, session_id, stop)
        self._checkpoints(store, stop)
        if self.late_files is not None:
            self.late_files.drain_once()

    def _connected(self, stop: threading.Event) -> S3Store:
        if self._store is None:
            self._store = self._retrying(self.connect, stop)
        return self._store

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DrainTimeoutError("the backlog did not drain in time")

    def _retrying(self, action: Callable[[], T], stop: threading.Event) -> T:
        """Run ``action`` until it gets through, waiting out outages of the object store."""
        backoff = Backoff(self.settings.backoff_initial_seconds, self.settings.backoff_max_seconds)
        while True:
            try:
                result = action()
            except ObjectStoreUnavailableError as exc:
                delay = backoff.next_delay()
                self._outage(exc, delay)
                if stop.wait(delay):
                    raise UploadStopped from exc
                self._check_deadline()
                continue
            if self._unreachable_since is not None:
                down = (self.clock() - self._unreachable_since).total_seconds()
                log.warning("object store reachable again after %.0f s; draining", down)
                self._unreachable_since = None
                self._last_error = None
            return result

    def _outage(self, exc: Exception, delay: float) -> None:
        self.counts.errors["unreachable"] += 1
        if self._unreachable_since is None:
            self._unreachable_since = self.clock()
            log.warning(
                "object store unavailable (%s); retrying with backoff — recording goes on "
                "into the spool",
                exc,
            )
        else:
            log.info("object store still unavailable; next try in %.1f s", delay)
        self._last_error = str(exc)
        self._write_status("unreachable", refresh=False)

    # -- one session -----------------------------------------------------------------------

    def _session(self, store: S3Store, session_id: str, stop: threading.Event) -> None:
        progress = self.state.session(session_id)
        if progress.done:
            self._maybe_release(store, session_id, stop)
            return
        plan = self.spool.plan(session_id)
        damaged = False
        for damage in plan.damaged:
            self._quarantine(damage, session_id)
            damaged = True
        # After a restart the state file may lag behind the bucket: look objects up first
        # until one is missing, then send the rest with conditional writes.
        fresh = True
        for item in self._read_ahead(_pending(plan.objects, progress.last_key), store):
            try:
                there = self._retrying(partial(self._send, store, item, look_first=fresh), stop)
            except ContentMismatchError as exc:
                self._quarantine(
                    Damage(
                        item.key,
                        "does not match the digest its seal names",
                        exc.expected,
                        exc.actual,
                    ),
                    session_id,
                )
                damaged = True
                continue
            except ObjectConflictError as exc:
                # Nothing can be done about it here: record it (the session is then never
                # complete, never released), raise the alarm, and go on with the rest.
                self.counts.errors["conflict"] += 1
                progress.conflict = progress.last_key = item.key
                self.state.save()
                self._alarm(f"{exc}: the session in the bucket will not verify")
                continue
            fresh = fresh and there
            if not there:
                self.counts.objects += 1
                self.counts.bytes += item.size
            progress.last_key = item.key
            self.state.save_soon()
            if self.on_upload:
                self.on_upload(item)
        self.state.save()
        if plan.complete and not damaged and progress.conflict is None:
            self._completed(store, plan)
            self._maybe_release(store, session_id, stop)
        else:
            for why in filter(None, [plan.held, *plan.missing]):
                self._alarm(f"session {session_id}: {why}")

    @staticmethod
    def _read_ahead(items: list[SpoolObject], store: S3Store) -> Iterator[SpoolObject]:
        """Yield ``items`` with the next small one already read from disk, so reading the
        spool overlaps the upload in flight (a backlog after an outage is on disk, not in
        the page cache). The bytes are still hashed and checked when they are sent."""

        def load(item: SpoolObject) -> SpoolObject:
            if item.data is not None or item.path is None or item.size > store.access.part_size:
                return item
            try:
                return replace(item, data=item.path.read_bytes())
            except OSError:
                return item  # sending it will report the error

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool-read") as reader:
            upcoming = reader.submit(load, items[0]) if items else None
            for index in range(len(items)):
                assert upcoming is not None
                current = upcoming.result()
                following = index + 1 < len(items)
                upcoming = reader.submit(load, items[index + 1]) if following else None
                yield current

    def _send(self, store: S3Store, item: SpoolObject, *, look_first: bool) -> bool:
        """Send ``item`` unless the bucket has it; True if it was there already."""
        if look_first or item.size > store.access.part_size:
            existing = store.head(item.key)
            if existing is not None:
                same = (
                    existing.sha256 == item.sha256
                    and existing.size == item.size
                    and (
                        existing.checksum is None
                        or "-" in existing.checksum
                        or existing.checksum == hex_to_base64(item.sha256)
                    )
                )
                if not same:
                    raise ObjectConflictError(f"{item.key} holds other bytes in {store.describe()}")
                self._ensure_retention(store, item, existing.version_id, existing.retain_until)
                return True
        stored = store.put(
            item.key,
            sha256=item.sha256,
            size=item.size,
            retain_until=item.retain_until,
            path=item.path if item.data is None else None,
            data=item.data,
            journal=self.journal,
            throttle=self.throttle,
        )
        self._ensure_retention(store, item, stored.version_id, stored.retain_until)
        return False

    @staticmethod
    def _ensure_retention(
        store: S3Store, item: SpoolObject, version_id: str | None, until: datetime | None
    ) -> None:
        if until is None or until < item.retain_until:
            store.extend_retention(item.key, version_id, item.retain_until)

    def _completed(self, store: S3Store, plan: SessionPlan) -> None:
        progress = self.state.session(plan.session_id)
        progress.done = True
        self.state.save()
        log.info("session %s is in the bucket, sealed and complete", plan.session_id)
        self._record(
            "upload",
            plan.session_id,
            {
                "bucket": store.describe(),
                "objects": len(plan.objects),
                "bytes": sum(o.size for o in plan.objects),
            },
        )
        if self.catalog is not None:
            self.catalog.stored(self.spool.store, plan.session_id, "bucket")

    def _quarantine(self, damage: Damage, session_id: str | None) -> None:
        self.counts.errors["quarantined"] += 1
        moved = self.spool.quarantine(damage)
        detail = {
            "key": damage.key,
            "reason": damage.reason,
            "moved_to": str(moved),
            **({"expected_sha256": damage.expected} if damage.expected else {}),
            **({"actual_sha256": damage.actual} if damage.actual else {}),
        }
        self._alarm(f"damaged spool file quarantined, not uploaded: {damage.key} ({damage.reason})")
        self._record("quarantine", session_id, detail)

    def record_event(self, action: str, session_id: str | None, detail: dict[str, Any]) -> None:
        """A custody event by the uploader (also the witness's sender's, when it runs here)."""
        self._record(action, session_id, detail)

    def _record(self, action: str, session_id: str | None, detail: dict[str, Any]) -> None:
        if self.custody is not None:
            self.custody.record(
                actor=self.actor, role="system", action=action, session_id=session_id, detail=detail
            )

    def _alarm(self, message: str) -> None:
        if message not in self._alarmed:
            self._alarmed.add(message)
            log.error("ALARM: %s", message)

    # -- releasing spool copies ------------------------------------------------------------

    def _maybe_release(self, store: S3Store, session_id: str, stop: threading.Event) -> None:
        keep = self.settings.keep_days
        if keep is None:
            return
        not_before = self._release_after.get(session_id)
        if not_before is not None and self.clock() < not_before:
            return  # cheap: no need to plan a kept session on every pass
        plan = self.spool.plan(session_id)
        if not plan.complete or plan.ended_at is None:
            return
        self._release_after[session_id] = plan.ended_at + timedelta(days=keep)
        if self.clock() < self._release_after[session_id]:
            return
        for item in [*plan.objects, *plan.late]:
            problems = self._confirm(store, item, stop)
            if problems:
                self._alarm(f"not releasing {session_id}: {item.key}: {'; '.join(problems)}")
                return
        if self.catalog is not None:  # read from the spool copy while there is one
            self.catalog.stored(self.spool.store, session_id, "released")
        _, files, size = self.spool.begin_release(session_id)
        release = self.spool.release_plan(session_id)
        self._record(
            "release",
            session_id,
            {
                "bucket": store.describe(),
                "objects": len(plan.objects),
                "files": files,
                "bytes": size,
                "keep_days": str(keep),
                **release.custody_detail(),
            },
        )
        self.spool.finish_release(session_id)
        self.counts.releases += 1
        self.state.forget(session_id)
        self.state.save()
        log.info("released the spool copy of %s (%d files, %d bytes)", session_id, files, size)
        self._kept_in_flight(release)

    def _confirm(self, store: S3Store, item: SpoolObject, stop: threading.Event) -> list[str]:
        """Look the first version of ``item`` up; extend its retention if it is short."""
        info = self._retrying(lambda: store.head_first(item.key), stop)
        if info is None:
            return ["not in the bucket"]
        problems = stored_problems(
            info,
            sha256=item.sha256,
            size=item.size,
            retain_until=item.retain_until,
            local=item.path,
        )
        if problems == ["retention ends too early"]:
            version_id = info.version_id
            self._retrying(
                lambda: store.extend_retention(item.key, version_id, item.retain_until), stop
            )
            info = self._retrying(lambda: store.head_first(item.key), stop)
            if info is None:
                return ["not in the bucket"]
            problems = stored_problems(
                info,
                sha256=item.sha256,
                size=item.size,
                retain_until=item.retain_until,
                local=item.path,
            )
        return problems

    def _finish_releases(self) -> None:
        """A release killed after its rename: record it if it was not, then delete."""
        for session_id in self.spool.releasing():
            release = self.spool.release_plan(session_id)
            if self.custody is not None and not self.custody.entries(
                session_id=session_id, action="release"
            ):
                self._record("release", session_id, {"resumed": True, **release.custody_detail()})
            self.spool.finish_release(session_id)
            self.state.forget(session_id)
            self.state.save()
            self._kept_in_flight(release)

    def _kept_in_flight(self, release: Release) -> None:
        if release.kept_in_flight:
            log.warning(
                "released %s but kept %d file(s) in flight that were never uploaded (%s): "
                "look at them, then remove them by hand",
                release.session_id,
                len(release.kept_in_flight),
                ", ".join(release.kept_in_flight),
            )

    # -- custody checkpoints ---------------------------------------------------------------

    def _checkpoints(self, store: S3Store, stop: threading.Event) -> None:
        objects, problems = self.spool.checkpoints(
            self.device_key, after=self.state.checkpoints_through
        )
        for problem in problems:
            self._alarm(problem)
        for item in objects:
            try:
                self._retrying(partial(self._send, store, item, look_first=False), stop)
            except ObjectConflictError as exc:  # e.g. a reinstalled appliance's custody log
                self._alarm(f"custody checkpoint not uploaded: {exc}")
            stem = Path(item.key).stem
            if item.key.endswith(".sig") and stem.isdigit():
                self.state.checkpoints_through = int(stem)
                self.state.save_soon()
            if self.on_upload:
                self.on_upload(item)
        self.state.save()

    # -- status for the console ------------------------------------------------------------

    def _write_status(self, state: str, *, refresh: bool) -> Backlog:
        """Write ``status.json`` for the console: the backlog, alarms and the connection."""
        self.counts.state = state
        now = time.monotonic()
        if refresh or self._last_backlog is None or now - self._last_status > STATUS_EVERY_SECONDS:
            self._last_backlog = self.backlog()
            self._last_status = now
            for alarm in self._last_backlog.alarms:
                self._alarm(alarm)
        backlog = self._last_backlog
        if self.status_path is not None:
            document = {
                "at": format_utc(self.clock()),
                "pid": os.getpid(),
                "state": state,
                "target": self.state.target,
                "unreachable_since": (
                    format_utc(self._unreachable_since) if self._unreachable_since else None
                ),
                "last_error": self._last_error,
                "backlog": backlog.as_dict(),
            }
            text = json.dumps(document, indent=2, ensure_ascii=False)
            replace_atomically(self.status_path, text.encode("utf-8"), mode=PRIVATE)
        return backlog


def open_uploader(
    data: DataDir,
    *,
    create_bucket: bool = False,
    environ: Mapping[str, str] | None = None,
    on_upload: Callable[[SpoolObject], None] | None = None,
    catalog: CatalogReporter | None = None,
) -> Uploader:
    """The uploader of a data directory, to the object store its settings and environment
    name. Connecting waits for the first pass (the server may be down)."""
    settings = data.settings
    access = S3Access.from_settings(settings.s3, environ)
    store = data.store()
    signer = data.signer()
    spool = Spool(
        store, RetentionPolicy(settings.s3.retention), quarantine_root=data.root / QUARANTINE
    )
    state = UploaderState.load(data.root / UPLOADER_DIR / "state.json", access.describe())
    return Uploader(
        spool,
        state,
        settings.uploader,
        connect=partial(S3Store.connect, access, create_bucket=create_bucket),
        device_key=signer.public_key,
        custody=data.custody(store, signer),
        status_path=data.root / UPLOADER_DIR / "status.json",
        on_upload=on_upload,
        catalog=catalog,
        outbox_root=data.outbox_root,
    )


def _no_connection() -> S3Store:
    raise UsageError("the backlog is computed without connecting to the object store")


def backlog_of(data: DataDir, *, environ: Mapping[str, str] | None = None) -> Backlog:
    """A data directory's backlog from its spool and the uploader's state file alone — no
    network, so it works during an outage: for the console, metrics and `uploader --status`.
    """
    settings = data.settings
    try:
        target = S3Access.from_settings(settings.s3, environ).describe()
    except UsageError:
        target = ""  # not configured: everything is waiting
    store = data.store()
    spool = Spool(
        store, RetentionPolicy(settings.s3.retention), quarantine_root=data.root / QUARANTINE
    )
    state = UploaderState.load(data.root / UPLOADER_DIR / "state.json", target)
    uploader = Uploader(
        spool,
        state,
        settings.uploader,
        connect=_no_connection,
        device_key=data.signer().public_key,
        custody=None,
        outbox_root=data.outbox_root,
    )
    return uploader.backlog()


def last_status(data: DataDir) -> dict[str, Any] | None:
    """What the running (or last) uploader wrote about itself: state, outage, last error."""
    path = data.root / UPLOADER_DIR / "status.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = ("at", "pid", "state", "target", "unreachable_since", "last_error", "backlog")
    return {key: document.get(key) for key in keys}


def hold_uploader_lock(data: DataDir) -> int:
    """One uploader per data directory: an exclusive ``flock`` the kernel drops on death."""
    directory = data.root / UPLOADER_DIR
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise UsageError(f"another uploader is already running for {data.root}") from exc
    return fd
