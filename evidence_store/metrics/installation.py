"""What every process of an installation can tell about it, read from its files at each
scrape: the data directory's disk, the spool's backlog, the queues of what leaves the box
(time-stamp authority, witness, catalog), the uploader's last word, custody events waiting
in the journal, and the last scrub.

Nothing here asks the network, so the figures are there during an outage, which is when
they matter. The backlog is read from the uploader's status file while it is fresh (the
uploader refreshes it every few seconds), and otherwise computed from the spool at most
every ``BACKLOG_SECONDS``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from evidence_store.custody import JOURNAL_NAME
from evidence_store.errors import UsageError
from evidence_store.installation import DataDir
from evidence_store.outbox import Outbox
from evidence_store.scrub import ScrubState
from evidence_store.timefmt import parse_utc, utc_now
from evidence_store.upload import backlog_of, last_status

log = logging.getLogger("sealroom.metrics")
BACKLOG_SECONDS = 30.0  # at most one spool walk per this many seconds
FRESH_STATUS_SECONDS = 60.0  # an uploader status older than this is not the uploader's now


class BacklogReader:
    """The spool's backlog as a dict (``Backlog.as_dict``), cheaply: the running uploader's
    own figure, else a walk of the spool, cached."""

    def __init__(self, data: DataDir) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any] | None] = (float("-inf"), None)

    def __call__(self) -> dict[str, Any] | None:
        status = last_status(self.data)
        if status is not None and _age(status.get("at")) < FRESH_STATUS_SECONDS:
            backlog = status.get("backlog")
            return backlog if isinstance(backlog, dict) else None
        with self._lock:
            at, cached = self._cached
            if time.monotonic() - at < BACKLOG_SECONDS:
                return cached
            try:
                found: dict[str, Any] | None = backlog_of(self.data).as_dict()
            except Exception:  # no store yet, unreadable spool: no figure, not a failed scrape
                found = None
            self._cached = (time.monotonic(), found)
            return found


class InstallationCollector(Collector):
    """``sealroom_disk_*``, ``sealroom_spool_*``, ``sealroom_outbox_*``,
    ``sealroom_object_store_*``, ``sealroom_custody_journaled_events``, ``sealroom_scrub_*``."""

    def __init__(self, data: DataDir, backlog: BacklogReader | None = None) -> None:
        self.data = data
        self.backlog = backlog or BacklogReader(data)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._disk()
        yield from self._spool()
        yield from self._outboxes()
        yield from self._uploader()
        yield from self._custody()
        yield from self._scrub()

    def _disk(self) -> Iterator[GaugeMetricFamily]:
        try:
            usage = shutil.disk_usage(self.data.root)
        except OSError:
            return
        free = GaugeMetricFamily(
            "sealroom_disk_free_bytes", "Bytes free for the data directory", labels=["path"]
        )
        size = GaugeMetricFamily(
            "sealroom_disk_size_bytes", "Size of the data directory's filesystem", labels=["path"]
        )
        free.add_metric([str(self.data.root)], usage.free)
        size.add_metric([str(self.data.root)], usage.total)
        yield free
        yield size

    def _spool(self) -> Iterator[GaugeMetricFamily]:
        backlog = self.backlog()
        if backlog is None:
            return
        figures = {
            "objects": ("sealroom_spool_backlog_objects", "Objects waiting to be uploaded"),
            "bytes": ("sealroom_spool_backlog_bytes", "Bytes waiting to be uploaded"),
            "sessions": ("sealroom_spool_backlog_sessions", "Sessions with objects waiting"),
            "quarantined": ("sealroom_spool_quarantined_files", "Damaged spool files set aside"),
        }
        for key, (name, text) in figures.items():
            yield GaugeMetricFamily(name, text, value=float(backlog.get(key) or 0))
        oldest = backlog.get("oldest_age_seconds")
        yield GaugeMetricFamily(
            "sealroom_spool_backlog_oldest_age_seconds",
            "Age of the oldest object waiting to be uploaded (0: nothing waits)",
            value=float(oldest or 0.0),
        )
        held = len(backlog.get("held") or {}) + len(backlog.get("conflicts") or {})
        yield GaugeMetricFamily(
            "sealroom_spool_held_sessions",
            "Sessions the uploader cannot go on with (held or in conflict): a person must look",
            value=float(held + len(backlog.get("missing") or [])),
        )

    def _outboxes(self) -> Iterator[GaugeMetricFamily]:
        items = GaugeMetricFamily(
            "sealroom_outbox_items", "Items waiting to leave the box", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "sealroom_outbox_oldest_age_seconds",
            "Age of the oldest item waiting: the witness's or the time-stamp authority's lag",
            labels=["queue"],
        )
        refused = GaugeMetricFamily(
            "sealroom_outbox_refused_items",
            "Items set aside as refused, for a person",
            labels=["queue"],
        )
        root = self.data.outbox_root
        names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        for name in names:
            try:
                backlog = Outbox(root, name).backlog()
            except (UsageError, OSError, ValueError) as exc:  # not a queue, or being removed
                log.debug("outbox %s not measured: %s", name, exc)
                continue
            items.add_metric([name], backlog.items)
            oldest.add_metric([name], backlog.oldest_seconds or 0.0)
            refused.add_metric([name], backlog.refused)
        yield items
        yield oldest
        yield refused

    def _uploader(self) -> Iterator[GaugeMetricFamily]:
        status = last_status(self.data)
        if status is None:
            return
        yield GaugeMetricFamily(
            "sealroom_uploader_status_age_seconds",
            "Since the uploader last wrote its status (a dead uploader stops writing it)",
            value=_age(status.get("at")),
        )
        yield GaugeMetricFamily(
            "sealroom_object_store_unreachable",
            "1 while the uploader cannot reach the object store",
            value=1.0 if status.get("state") in {"unreachable", "failing"} else 0.0,
        )

    def _custody(self) -> Iterator[GaugeMetricFamily]:
        path = self.data.root / JOURNAL_NAME
        try:
            with path.open("rb") as journal:
                waiting = sum(1 for _ in journal)
        except FileNotFoundError:
            waiting = 0
        except OSError:
            return
        yield GaugeMetricFamily(
            "sealroom_custody_journaled_events",
            "Custody events journaled because the custody database is damaged "
            "(`sealroom custody repair`)",
            value=float(waiting),
        )

    def _scrub(self) -> Iterator[GaugeMetricFamily]:
        state = ScrubState.load(self.data)
        if state is None:
            return
        yield GaugeMetricFamily(
            "sealroom_scrub_failed_sessions",
            "Stored sessions whose last scrub found them not intact",
            value=float(len(state.failures)),
        )
        if state.last_pass_end is not None:
            yield GaugeMetricFamily(
                "sealroom_scrub_last_pass_end_timestamp_seconds",
                "When the last complete scrub pass ended (Unix time)",
                value=parse_utc(state.last_pass_end).timestamp(),
            )


def _age(at: object) -> float:
    try:
        return max(0.0, (utc_now() - parse_utc(str(at))).total_seconds())
    except (ValueError, TypeError):
        return float("inf")
