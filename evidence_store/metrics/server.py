"""``--metrics-port``: a process's Prometheus metrics on ``/metrics``.

Every long-running process (``recorder serve``, ``uploader`` as a daemon, ``console``,
``scrub --daemon``, and whatever is added later) serves its metrics the same way, with one
call: ``serve_metrics(port, host, *collectors)``. The server binds to 127.0.0.1 unless
``[evidence.operations] metrics_host`` (or ``--metrics-host``) says otherwise, runs on a
daemon thread, and has its own registry: only the process's own collectors and the process
collector (CPU, memory, open files), never another library's globals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import click
from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.registry import Collector

from evidence_store.errors import UsageError

log = logging.getLogger("sealroom.metrics")
F = TypeVar("F", bound=Callable[..., Any])


class MetricsServer:
    """A running ``/metrics`` endpoint; ``close`` stops it."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            raise UsageError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        self.registry = registry
        self.host = host
        self.port = int(self._server.server_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def serve_metrics(port: int, host: str, *collectors: Collector) -> MetricsServer:
    """Serve ``collectors`` (and the process's own figures) at ``http://host:port/metrics``;
    port 0 picks a free one (``MetricsServer.port``)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    for collector in collectors:
        registry.register(collector)
    server = MetricsServer(registry, host, port)
    click.echo(f"metrics on {server.url}", err=True)
    return server


def metrics_options(command: F) -> F:
    """``--metrics-port PORT`` and ``--metrics-host HOST`` for a long-running command."""
    command = click.option(
        "--metrics-host",
        default=None,
        help="Address for --metrics-port (default [evidence.operations] metrics_host: 127.0.0.1).",
    )(command)
    return click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        default=None,
        help="Serve Prometheus metrics on this port at /metrics (0: any free port, printed).",
    )(command)
