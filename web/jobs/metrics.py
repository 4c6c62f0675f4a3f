"""The worker's metrics (``worker --metrics-port``): the jobs in the shared database, by kind
and state, and how long the oldest queued one has waited (a worker that takes nothing shows
as a queue that only grows older)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from web.extensions import db
from web.jobs.queue import DONE, FAILED, QUEUED, RUNNING, utcnow
from web.models import Job

STATES = (QUEUED, RUNNING, DONE, FAILED)


class JobsCollector(Collector):
    """``sealroom_jobs{kind,state}`` and ``sealroom_jobs_oldest_queued_age_seconds{kind}``,
    read from the database at each scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "sealroom_jobs",
            "Jobs in the shared database, by kind and state",
            labels=["kind", "state"],
        )
        oldest = GaugeMetricFamily(
            "sealroom_jobs_oldest_queued_age_seconds",
            "How long the oldest queued job of each kind has waited",
            labels=["kind"],
        )
        with self.app.app_context():
            counts = db.session.execute(
                select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)
            ).all()
            waiting = db.session.execute(
                select(Job.kind, func.min(Job.created_at))
                .where(Job.state == QUEUED)
                .group_by(Job.kind)
            ).all()
            db.session.remove()
        seen: dict[str, dict[str, int]] = {}
        for kind, state, count in counts:
            seen.setdefault(kind, dict.fromkeys(STATES, 0))[state] = count
        for kind, by_state in sorted(seen.items()):
            for state, count in by_state.items():
                jobs.add_metric([kind, state], count)
        now = utcnow()
        for kind, created in waiting:
            oldest.add_metric([kind], max(0.0, (now - created).total_seconds()))
        yield jobs
        yield oldest
