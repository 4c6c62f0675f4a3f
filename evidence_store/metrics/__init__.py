"""Prometheus metrics: ``serve_metrics`` serves a process's collectors on ``--metrics-port``
(``metrics_options``); ``InstallationCollector`` is what any process can tell about its
installation from its files; ``UploaderCollector`` and ``ScrubCollector`` are those
processes' own. Metric families are all named ``sealroom_*`` (``docs/operations.md``)."""

from evidence_store.metrics.installation import BacklogReader, InstallationCollector
from evidence_store.metrics.scrub import ScrubCollector
from evidence_store.metrics.server import MetricsServer, metrics_options, serve_metrics
from evidence_store.metrics.uploader import UploaderCollector

__all__ = [
    "BacklogReader",
    "InstallationCollector",
    "MetricsServer",
    "ScrubCollector",
    "UploaderCollector",
    "metrics_options",
    "serve_metrics",
]
