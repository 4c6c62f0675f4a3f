"""Building an approved export as a job of the shared database (``web.jobs``: a worker, or a
console that runs its own), and the request's status along the way.

pending ──approve──> building ──> built
   │                    │
   └──refuse──> refused  └──> failed ──build again──> building

Every change of status is one conditional UPDATE (``WHERE id = ? AND status IN (...)``), so
two supervisors approving at once, or a retry racing another, cannot both win. A build that
fails for any reason (evidence that does not verify, a full disk, an unreachable bucket, a
clip deleted meanwhile) leaves no file behind, marks the request failed, and is an ``export``
custody event with the reason; it can then be built again.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update

from evidence_store import StoreError, UsageError, VerificationError
from evidence_store.export import ExportedPackage, ExportSpec, export_bytes
from web.audit import custody_log, record
from web.evidence import console_settings, data_dir, evidence_store, session_index
from web.exports import jobs as export_jobs
from web.exports.jobs import COPYING, DONE, FAILED, BuildProgress, JobKey, ProgressSink
from web.exports.package import Exporter, build_export, clip_spec, session_spec
from web.extensions import db
from web.jobs import JobContext, alive, cancel, enqueue, give_up_expired
from web.models import ExportRequest, User

PENDING, APPROVED, REFUSED, BUILDING, BUILT = "pending", "approved", "refused", "building", "built"
# "approved" without a package is what a build that crashed left before builds were tracked.
RETRYABLE = (FAILED, APPROVED)
INTERRUPTED = "interrupted"
EXPORT_JOB = "export"
JOBS_KEY = "sealroom.jobs"  # the app's own job runner, when it runs its jobs itself


@dataclass(frozen=True)
class Actor:
    """Who set the build going: its custody events are theirs (it runs outside the request)."""

    username: str
    role: str


def exports_dir() -> Path:
    data = data_dir()
    directory = data.root / "exports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def now() -> datetime:
    return datetime.now(UTC)


def job_key(request_id: int) -> JobKey:
    return (str(db.engine.url), request_id)


def transition(request_id: int, old: tuple[str, ...], new: str, **values: Any) -> bool:
    """Move the request from one of ``old`` to ``new`` atomically; False if another did first."""
    result = db.session.execute(
        update(ExportRequest)
        .where(ExportRequest.id == request_id, ExportRequest.status.in_(old))
        .values(status=new, **values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return False
    db.session.commit()
    return True


def begin_build(request_id: int, old: tuple[str, ...], actor: Actor, **values: Any) -> bool:
    """Move the request from one of ``old`` to "building" and queue its build; False if the
    request was not in one of ``old`` (someone else decided, or it is being built)."""
    # The job first: a "building" request with no job is what a dead process leaves.
    job = enqueue(EXPORT_JOB, str(request_id), {"username": actor.username, "role": actor.role})
    if transition(request_id, old, BUILDING, **values):
        return True
    cancel(job.id, "the request was decided or built meanwhile")  # a runner that took it
    return False  # first finds it not "building" and does nothing


def wake_runner() -> None:
    """Tell this console's own runner (if it runs jobs) that a build is waiting."""
    runner = current_app.extensions.get(JOBS_KEY)
    if runner is not None:
        runner.wake()


def run_export(context: JobContext) -> None:
    """The job handler: build the request ``context.ref``, claimed in this process while it
    runs, its progress going to the job row as well."""
    request_id = int(context.ref)
    key = job_key(request_id)
    actor = Actor(context.actor.get("username", "?"), context.actor.get("role", "?"))

    def publish(progress: BuildProgress) -> None:
        context.report(progress.stage, progress.done, progress.total)

    export_jobs.claim(key)
    try:
        sink = ProgressSink(key, publish)
        with export_jobs.build_slot():
            build(request_id, actor, sink)
    finally:
        export_jobs.release(key)


def package_name(export: ExportRequest, spec: ExportSpec) -> str:
    """A name a person can read and file: case, exhibit, the day it was asked for (the
    console's time zone) and the request's number, which keeps names unique:
    VKS-12-2026_VC-01_2026-12-07_7.zip. A whole session is the exhibit "phien-ghi" (and a
    clip without a number "doan-trich"): the console's Vietnamese, without its marks, so a
    name never mixes two languages.
    Only ASCII letters, digits and '-': any file system, any archive tool."""
    summary = session_index().get(export.session_id)
    case = summary.case_number if summary else ""
    created = export.created_at or now()
    if created.tzinfo is None:  # SQLite hands UTC back without its zone
        created = created.replace(tzinfo=UTC)
    created = created.astimezone(ZoneInfo(console_settings().timezone))  # the seal sheet's day
    parts = [
        _ascii_slug(case) or "vu-an",
        _ascii_slug(spec.exhibit_number) or ("doan-trich" if spec.clip_ref else "phien-ghi"),
        created.strftime("%Y-%m-%d"),
        str(export.id),
    ]
    return "_".join(parts) + ".zip"


def _ascii_slug(text: str, limit: int = 40) -> str:
    """Vietnamese without its marks (đ as d), everything else but letters and digits as '-'."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-")[:limit].strip("-")


def spec_of(export: ExportRequest) -> ExportSpec:
    """What the request exports, as ``sealroom export`` would export it."""
    if export.clip_id is None:
        return session_spec(export.session_id)
    return clip_spec(export.clip_id)


def build(request_id: int, actor: Actor, sink: ProgressSink) -> None:
    """Build, verify and keep the package; the export is a custody event either way."""
    export = db.session.get(ExportRequest, request_id)
    if export is None or export.status != BUILDING:
        return
    detail: dict[str, Any] = {"request_id": export.id, "clip_id": export.clip_id}
    out: Path | None = None
    try:
        spec = spec_of(export)
        out = exports_dir() / package_name(export, spec)
        remove_leftovers(out)  # of a build this process's predecessor did not finish
        package = _build_package(export, spec, out, sink)
        record(
            "export",
            session_id=export.session_id,
            detail={**detail, "outcome": BUILT, **package.custody_detail()},
            actor=actor.username,
            role=actor.role,
        )
        digest = package.archive_sha256 or package.package_sha256
        if not transition(request_id, (BUILDING,), BUILT, package=out.name, package_sha256=digest):
            raise RuntimeError("the request changed while its package was built")
    # Any failure at all must end as "failed" with its reason, never as a stuck "building".
    except Exception as failure:
        db.session.rollback()
        if out is not None:
            remove_leftovers(out)
        sink.stage(FAILED)
        _fail(export.id, export.session_id, detail, failure, actor)
        return
    sink.stage(DONE)


def _build_package(
    export: ExportRequest, spec: ExportSpec, out: Path, sink: ProgressSink
) -> ExportedPackage:
    source = Exporter(data_dir(), evidence_store(), custody_log())
    requester = db.session.get(User, export.requested_by)
    sink.stage(COPYING, total=export_bytes(source.reader, spec))
    return build_export(
        source,
        spec,
        out,
        exported_by=requester.username if requester else str(export.requested_by),
        as_zip=True,
        progress=sink.copied,
    )


def remove_leftovers(out: Path) -> None:
    """The package and its staging files: no partial (or unrecorded) package stays behind."""
    out.unlink(missing_ok=True)
    for partial in out.parent.glob(f".{out.name}.*"):
        if partial.is_dir() and not partial.is_symlink():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)


def failure_detail(failure: BaseException) -> dict[str, Any]:
    """What went wrong, for the custody log and the list of requests."""
    if isinstance(failure, VerificationError):
        return {"result": failure.kind, "location": failure.location, "reason": str(failure)}
    known = (OSError, StoreError, UsageError)
    result = "error" if isinstance(failure, known) else "internal_error"
    return {"result": result, "error": type(failure).__name__, "reason": str(failure)[:500]}


def _fail(
    request_id: int,
    session_id: str,
    detail: dict[str, Any],
    failure: BaseException,
    actor: Actor,
) -> None:
    if not isinstance(failure, VerificationError | OSError | StoreError | UsageError):
        current_app.logger.exception("export %s failed unexpectedly", request_id)
    if not transition(request_id, (BUILDING,), FAILED):
        return
    record(
        "export",
        session_id=session_id,
        detail={**detail, "outcome": FAILED, **failure_detail(failure)},
        actor=actor.username,
        role=actor.role,
    )


def fail_interrupted() -> int:
    """Fail the builds left "building" that nothing will finish: no job queued or held for
    them (and none of this process's threads), or a job whose every attempt's runner
    stopped. They can be built again. Returns how many."""
    failed: list[ExportRequest] = []
    give_up_expired(EXPORT_JOB)
    with export_jobs.claims_held() as claimed:
        live = alive(EXPORT_JOB)
        building = db.session.scalars(
            select(ExportRequest).where(ExportRequest.status == BUILDING)
        ).all()
        for export in building:
            if (
                str(export.id) not in live
                and job_key(export.id) not in claimed
                and transition(export.id, (BUILDING,), FAILED)
            ):
                failed.append(export)
    for export in failed:
        record(
            "export",
            session_id=export.session_id,
            detail={
                "request_id": export.id,
                "clip_id": export.clip_id,
                "outcome": FAILED,
                "result": INTERRUPTED,
                "reason": "the process building it stopped, and no attempt finished",
            },
            actor="console",
            role="system",
        )
    return len(failed)


@dataclass(frozen=True)
class Failure:
    result: str  # tampered, incomplete, untrusted, failed, error, internal_error, interrupted
    reason: str  # the technical reason, as the custody log has it


def failures_of(rows: Sequence[ExportRequest]) -> dict[int, Failure]:
    """Why each failed request failed last, from the custody log."""
    failed = {row.id: row.session_id for row in rows if row.status in RETRYABLE}
    found: dict[int, Failure] = {}
    for session_id in set(failed.values()):
        for entry in custody_log().entries(session_id=session_id, action="export"):
            request_id = entry.detail.get("request_id")
            if request_id in failed and entry.detail.get("outcome") == FAILED:
                found[request_id] = Failure(
                    str(entry.detail.get("result", "")), str(entry.detail.get("reason", ""))
                )
    return found
