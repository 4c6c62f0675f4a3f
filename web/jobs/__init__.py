"""Background jobs in the shared database (export builds; the catalog's reconcile runs on the
same runner's schedule), run by ``sealroom worker`` or by a console that runs its own."""

from web.jobs.metrics import JobsCollector
from web.jobs.queue import (
    DONE,
    FAILED,
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    QUEUED,
    RUNNING,
    alive,
    cancel,
    enqueue,
    give_up_expired,
    latest,
)
from web.jobs.runner import Handler, JobContext, JobRunner, Schedule

__all__ = [
    "DONE",
    "FAILED",
    "LEASE_SECONDS",
    "MAX_ATTEMPTS",
    "QUEUED",
    "RUNNING",
    "Handler",
    "JobContext",
    "JobRunner",
    "JobsCollector",
    "Schedule",
    "alive",
    "cancel",
    "enqueue",
    "give_up_expired",
    "latest",
]
