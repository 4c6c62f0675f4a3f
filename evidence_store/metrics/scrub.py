"""The scrub daemon's own metrics (``scrub --daemon --metrics-port``): sessions and bytes
verified, and failures, as they happen. What failed so far, and when the last pass ended,
are the installation's (``InstallationCollector``, from the scrub's state file)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from evidence_store.scrub import STORES, ScrubResult


class ScrubCollector(Collector):
    """``sealroom_scrubbed_sessions_total{store,result}``, ``sealroom_scrubbed_bytes_total``,
    ``sealroom_verification_failures_total{where="scrub_local"|"scrub_bucket"}``. Give
    ``observe`` to the ``Scrubber`` as its ``on_result``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions = Counter(
            "sealroom_scrubbed_sessions",
            "Stored sessions scrubbed, by store and result",
            ["store", "result"],
            registry=None,
        )
        self.bytes = Counter(
            "sealroom_scrubbed_bytes",
            "Bytes read and hashed by scrubbing",
            ["store"],
            registry=None,
        )
        self.failures = Counter(
            "sealroom_verification_failures",
            "Stored sessions that did not verify when scrubbed",
            ["where"],
            registry=None,
        )
        for store in STORES:
            self.failures.labels(f"scrub_{store}")

    def observe(self, result: ScrubResult) -> None:
        with self._lock:
            self.sessions.labels(result.store, result.result).inc()
            self.bytes.labels(result.store).inc(result.bytes)
            if result.failed:
                self.failures.labels(f"scrub_{result.store}").inc()

    def collect(self) -> Iterator[Metric]:
        yield from self.sessions.collect()
        yield from self.bytes.collect()
        yield from self.failures.collect()
