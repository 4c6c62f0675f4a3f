"""The console's metrics (``console --metrics-port``): how long requests take, by route,
what they answered, and how often evidence failed its check in front of a person ("verify
now", or a segment refused as it was played)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Flask, current_app, g, request
from prometheus_client import Counter, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from werkzeug.wrappers import Response

EXTENSION_KEY = "sealroom.metrics"
# A page is tens of milliseconds; a segment streamed from the bucket can take seconds.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ConsoleMetrics(Collector):
    """``sealroom_http_request_duration_seconds``, ``sealroom_http_requests_total``,
    ``sealroom_verification_failures_total``."""

    def __init__(self) -> None:
        self.latency = Histogram(
            "sealroom_http_request_duration_seconds",
            "Console requests, from arrival to the response's headers",
            ["method", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.responses = Counter(
            "sealroom_http_requests",
            "Console responses, by route and status",
            ["method", "endpoint", "status"],
            registry=None,
        )
        self.verification_failures = Counter(
            "sealroom_verification_failures",
            "Evidence that failed its check in the console: verify (a person asked), "
            "playback (a segment refused as it was played)",
            ["where"],
            registry=None,
        )
        for where in ("verify", "playback"):
            self.verification_failures.labels(where)

    def collect(self) -> Iterator[Metric]:
        yield from self.latency.collect()
        yield from self.responses.collect()
        yield from self.verification_failures.collect()


def init_metrics(app: Flask) -> ConsoleMetrics:
    """Time every request of ``app``; the collector is served by ``--metrics-port``."""
    metrics = ConsoleMetrics()
    app.extensions[EXTENSION_KEY] = metrics

    @app.before_request
    def started() -> None:
        g.sealroom_started = time.perf_counter()

    @app.after_request
    def answered(response: Response) -> Response:
        began = g.get("sealroom_started")
        endpoint = request.endpoint or "unmatched"  # a route, never the raw path: few series
        if began is not None:
            metrics.latency.labels(request.method, endpoint).observe(time.perf_counter() - began)
        metrics.responses.labels(request.method, endpoint, str(response.status_code)).inc()
        return response

    return metrics


def console_metrics(app: Flask) -> ConsoleMetrics:
    metrics: ConsoleMetrics = app.extensions[EXTENSION_KEY]
    return metrics


def verification_failed(where: str) -> None:
    """Count evidence that failed its check in this request (``verify`` or ``playback``)."""
    console_metrics(current_app).verification_failures.labels(where).inc()
