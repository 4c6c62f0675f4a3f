"""Jobs in the shared database: queued, then run under a lease that the runner renews.

Every change is one conditional UPDATE, so two runners (a worker and a console, two workers)
never take the same job: the one whose UPDATE matched has it. A runner that dies stops
renewing; once its lease has run out the job is taken again, up to ``MAX_ATTEMPTS`` runs in
all. Times are naive UTC (what both SQLite and PostgreSQL keep without surprise).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from web.extensions import db
from web.models import Job

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LEASE_SECONDS = 30.0  # a runner renews its lease every third of this
MAX_ATTEMPTS = 3


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def enqueue(kind: str, ref: str, actor: dict[str, str]) -> Job:
    """Queue a job (committed)."""
    now = utcnow()
    job = Job(
        kind=kind,
        ref=ref,
        state=QUEUED,
        attempts=0,
        actor=json.dumps(actor, ensure_ascii=False),
        stage="",
        done=0,
        total=0,
        error="",
        created_at=now,
        updated_at=now,
    )
    db.session.add(job)
    db.session.commit()
    return job


def _takeable(now: datetime) -> Any:
    """Queued, or running under a lease that ran out with attempts left."""
    return or_(
        Job.state == QUEUED,
        and_(Job.state == RUNNING, Job.lease_until < now, Job.attempts < MAX_ATTEMPTS),
    )


def claim(owner: str, kinds: Collection[str]) -> Job | None:
    """Take the oldest job of ``kinds`` that nobody holds; None when there is none."""
    for _ in range(5):  # another runner may take the one we saw first
        now = utcnow()
        job_id = db.session.scalar(
            select(Job.id).where(Job.kind.in_(list(kinds)), _takeable(now)).order_by(Job.id)
        )
        if job_id is None:
            db.session.rollback()
            return None
        result = db.session.execute(
            update(Job)
            .where(Job.id == job_id, _takeable(now))
            .values(
                state=RUNNING,
                lease_owner=owner,
                lease_until=now + timedelta(seconds=LEASE_SECONDS),
                attempts=Job.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if result.rowcount == 1:  # type: ignore[attr-defined]
            job = db.session.get(Job, job_id)
            if job is not None:
                db.session.refresh(job)
            return job
    return None


def renew(job_id: int, owner: str, **progress: Any) -> bool:
    """Extend the lease (and record progress); False if the job is no longer ours."""
    now = utcnow()
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.state == RUNNING)
        .values(lease_until=now + timedelta(seconds=LEASE_SECONDS), updated_at=now, **progress)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def finish(job_id: int, owner: str, state: str, error: str = "") -> None:
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner)
        .values(state=state, error=error[:2000], lease_until=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def cancel(job_id: int, reason: str) -> None:
    """Withdraw a queued job that is no longer wanted (one already taken runs on)."""
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == QUEUED)
        .values(state=FAILED, error=reason, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def latest(kind: str, ref: str) -> Job | None:
    """The newest job of ``kind`` for ``ref``."""
    job: Job | None = db.session.scalar(
        select(Job).where(Job.kind == kind, Job.ref == ref).order_by(Job.id.desc())
    )
    return job


def alive(kind: str) -> set[str]:
    """Refs of the jobs of ``kind`` that are queued, held, or will be taken again."""
    now = utcnow()
    held = and_(Job.state == RUNNING, Job.lease_until >= now)
    return set(
        db.session.scalars(select(Job.ref).where(Job.kind == kind, or_(_takeable(now), held)))
    )


def give_up_expired(kind: str) -> list[Job]:
    """Mark failed the jobs of ``kind`` whose last attempt's lease ran out; returns them."""
    now = utcnow()
    spent = list(
        db.session.scalars(
            select(Job).where(
                Job.kind == kind,
                Job.state == RUNNING,
                Job.lease_until < now,
                Job.attempts >= MAX_ATTEMPTS,
            )
        )
    )
    for job in spent:
        job.state = FAILED
        job.error = "every attempt's runner stopped before the end"
        job.updated_at = now
    db.session.commit()
    return spent
