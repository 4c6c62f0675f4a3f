"""The uploader's own metrics (``uploader --metrics-port``): what it sent, what failed and
why, and whether the object store answers. The backlog itself is the installation's
(``InstallationCollector``), read from the status file this uploader keeps fresh."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from evidence_store.upload import Uploader


class UploaderCollector(Collector):
    """``sealroom_uploaded_*``, ``sealroom_upload_errors_total{kind}``,
    ``sealroom_released_sessions_total``, ``sealroom_object_store_up``."""

    def __init__(self, uploader: Uploader) -> None:
        self.uploader = uploader

    def collect(self) -> Iterator[Metric]:
        counts = self.uploader.counts
        yield CounterMetricFamily(
            "sealroom_uploaded_objects", "Objects sent to the object store", value=counts.objects
        )
        yield CounterMetricFamily(
            "sealroom_uploaded_bytes", "Bytes sent to the object store", value=counts.bytes
        )
        yield CounterMetricFamily(
            "sealroom_released_sessions",
            "Spool copies released after every object was confirmed",
            value=counts.releases,
        )
        errors = CounterMetricFamily(
            "sealroom_upload_errors",
            "Upload failures: unreachable (an outage, retried), refused (credentials, bucket), "
            "quarantined (damaged spool files), conflict (a key holding other bytes)",
            labels=["kind"],
        )
        for kind, count in sorted(counts.errors.items()):
            errors.add_metric([kind], count)
        yield errors
        yield GaugeMetricFamily(
            "sealroom_object_store_up",
            "1 while the object store answers the uploader",
            value=0.0 if counts.state in {"unreachable", "failing"} else 1.0,
        )
