"""Export packages asked for, approved, built and downloaded in the console.

A prosecutor or court clerk asks for an export of a session or a clip, with a reason. Where
the configuration requires it (``exports_need_approval``, on by default) a supervisor of the
unit approves or refuses it; then the package is built in the background as a .zip under
``<data_dir>/exports/`` (``web.exports.build``), verified as it is built, while the list shows
its progress. A failed build can be built again. Everyone of the case's team whose role reads
exports (requesters, supervisors, auditors of the unit) may download it, and only bytes
that still hash to what the build recorded (``web.exports.download``). Every step is a
custody event.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from web.access import allow
from web.audit import record
from web.evidence import console_settings
from web.exports import jobs as export_jobs
from web.exports.build import (
    BUILDING,
    BUILT,
    EXPORT_JOB,
    PENDING,
    REFUSED,
    RETRYABLE,
    Actor,
    begin_build,
    exports_dir,
    fail_interrupted,
    failures_of,
    job_key,
    now,
    transition,
    wake_runner,
)
from web.exports.download import SendOutcome, checked_chunks, digest_of, open_package
from web.extensions import db
from web.forms import ConfirmForm, PlainText, errors_of
from web.jobs import latest
from web.models import Clip, ExportRequest, User
from web.roles import Role
from web.visibility import (
    hidden,
    session_unit,
    visible_clip,
    visible_export,
    visible_session,
    visible_units,
)

blueprint = Blueprint("exports", __name__, url_prefix="/exports")

REQUESTERS = frozenset({Role.PROSECUTOR, Role.COURT_CLERK})
APPROVERS = frozenset({Role.SUPERVISOR})
VIEWERS = REQUESTERS | APPROVERS | {Role.AUDITOR}


class ExportRequestForm(FlaskForm):
    session_id = StringField(validators=[Optional(), Length(max=40)])
    # As people see a clip: its exhibit number ("VC-01"), or clip-7 / 7.
    clip_id = StringField(validators=[Optional(), Length(max=50), PlainText()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000), PlainText()])


def _clip_named(ref: str, session_id: str) -> Clip | str:
    """The clip ``ref`` names, among those the user may see: by its exhibit number as shown
    (narrowed to ``session_id`` when given), else by its number; or why there is none."""
    query = select(Clip).where(
        Clip.exhibit_number == ref, Clip.unit_code.in_(visible_units(current_user))
    )
    if session_id:
        query = query.where(Clip.session_id == session_id)
    matches: list[Clip] = list(db.session.scalars(query.limit(2)).all())
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        return str(_("Several clips are numbered %(ref)s: give the session too.", ref=ref))
    number = ref.removeprefix("clip-")
    if number.isascii() and number.isdigit() and 0 < int(number) < 2**31:
        clip: Clip = visible_clip(int(number))  # 404 when it is not the user's to see
        return clip
    return str(_("No clip %(ref)s.", ref=ref))


def need_approval() -> bool:
    settings = console_settings()
    return bool(getattr(settings, "exports_need_approval", True))


def _actor() -> Actor:
    return Actor(current_user.username, current_user.role)


@blueprint.get("/")
@allow(*VIEWERS)
def requests() -> str:
    form = ExportRequestForm(
        data={
            "session_id": request.args.get("session_id", ""),
            "clip_id": request.args.get("clip", ""),
        }
    )
    return _list_page(form)


def _list_page(form: ExportRequestForm) -> str:
    fail_interrupted()
    rows = list(
        db.session.scalars(
            select(ExportRequest)
            .where(ExportRequest.unit_code.in_(visible_units(current_user)))
            .order_by(ExportRequest.created_at.desc())
            .limit(200)
        ).all()
    )
    users = {u.id: u for u in db.session.scalars(select(User)).all()}
    clips = {
        c.id: c
        for c in db.session.scalars(
            select(Clip).where(Clip.id.in_([r.clip_id for r in rows if r.clip_id]))
        ).all()
    }
    record("list_exports", detail={"rows": len(rows)})
    return render_template(
        "exports/list.html",
        rows=rows,
        users=users,
        clips=clips,
        failures=failures_of(rows),
        retryable=RETRYABLE,
        form=form,
        confirm_form=ConfirmForm(),
        need_approval=need_approval(),
        can_request=current_user.role_enum in REQUESTERS,
        can_decide=current_user.role_enum in APPROVERS,
    )


@blueprint.post("/")
@allow(*REQUESTERS)
def create() -> Response | tuple[str, int]:
    form = ExportRequestForm()
    if not form.validate_on_submit():
        for message in errors_of(form) if form.reason.data else []:
            flash(message, "error")
        flash(_("Give the reason for the export, and a session or a clip."), "error")
        return _list_page(form), 400
    clip_ref = (form.clip_id.data or "").strip()
    clip_id: int | None = None
    if clip_ref:
        found = _clip_named(clip_ref, (form.session_id.data or "").strip())
        if isinstance(found, str):
            flash(found, "error")
            return _list_page(form), 400
        clip_id = found.id
        session_id, unit_code = found.session_id, found.unit_code
    elif form.session_id.data:
        row = visible_session(form.session_id.data.strip())
        if row.state not in ("sealed", "interrupted"):
            flash(_("Only a sealed session can be exported."), "error")
            return _list_page(form), 400
        session_id, unit_code = row.session_id, session_unit(row)
    else:
        flash(_("Give the reason for the export, and a session or a clip."), "error")
        return _list_page(form), 400
    export = ExportRequest(
        session_id=session_id,
        clip_id=clip_id or None,
        unit_code=unit_code,
        reason=(form.reason.data or "").strip(),
        status=PENDING,
        requested_by=current_user.id,
    )
    db.session.add(export)
    db.session.commit()
    record(
        "export_requested",
        session_id=session_id,
        detail={"request_id": export.id, "clip_id": clip_id, "reason": export.reason},
    )
    if need_approval():
        flash(_("Export requested; a supervisor must approve it."), "ok")
    elif begin_build(export.id, (PENDING,), _actor()):
        _start(None, export)
        flash(_("The export package is being built."), "ok")
    return _back_to(export)


@blueprint.post("/<int:request_id>/approve")
@allow(*APPROVERS)
def approve(request_id: int) -> Response:
    export = _confirmed(request_id)
    # The UPDATE decides: of two supervisors approving at once, one gets 409.
    if not begin_build(
        export.id, (PENDING,), _actor(), decided_by=current_user.id, decided_at=now()
    ):
        abort(409)
    _start("export_approved", export)
    flash(_("Export approved; the package is being built."), "ok")
    return _back_to(export)


@blueprint.post("/<int:request_id>/refuse")
@allow(*APPROVERS)
def refuse(request_id: int) -> Response:
    export = _confirmed(request_id)
    if not transition(export.id, (PENDING,), REFUSED, decided_by=current_user.id, decided_at=now()):
        abort(409)
    record("export_refused", session_id=export.session_id, detail={"request_id": export.id})
    flash(_("Export refused."), "ok")
    return _back_to(export)


@blueprint.post("/<int:request_id>/retry")
@allow(*REQUESTERS, *APPROVERS)
def retry(request_id: int) -> Response:
    """Build a failed export again: its approval stands; the requester or a supervisor."""
    export = _confirmed(request_id)
    if current_user.role_enum not in APPROVERS and export.requested_by != current_user.id:
        hidden(session_id=export.session_id, request_id=export.id, reason="not yours")
    if not begin_build(export.id, RETRYABLE, _actor()):
        abort(409)
    _start("export_retried", export)
    flash(_("The export package is being built again."), "ok")
    return _back_to(export)


def _confirmed(request_id: int) -> ExportRequest:
    export = visible_export(request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return export


def _start(action: str | None, export: ExportRequest) -> None:
    """Log the decision; the build is queued already, for a worker (or this console)."""
    try:
        if action:
            record(action, session_id=export.session_id, detail={"request_id": export.id})
    finally:
        wake_runner()


def _back_to(export: ExportRequest) -> Response:
    return redirect(url_for("exports.requests", _anchor=f"request-{export.id}"))


@blueprint.get("/<int:request_id>/progress")
@allow(*VIEWERS)
def progress(request_id: int) -> Response:
    """A build's progress, polled by the list: bytes of evidence copied of the total."""
    fail_interrupted()
    export = visible_export(request_id)
    body: dict[str, object] = {"id": export.id, "status": export.status}
    body.update(_progress_of(export.id))
    if export.status != BUILDING:
        body["stage"] = export.status
    return jsonify(body)


def _progress_of(request_id: int) -> dict[str, object]:
    """This process's own view of a build it runs, else what its job row says (a build run
    by a worker or another replica)."""
    known = export_jobs.progress_of(job_key(request_id))
    if known is not None:
        return known.as_json()
    job = latest(EXPORT_JOB, str(request_id))
    if job is None or not job.stage:
        return {"stage": None, "done": None, "total": None}
    return {"stage": job.stage, "done": job.done, "total": job.total}


@blueprint.get("/<int:request_id>/download")
@allow(*VIEWERS)
def download(request_id: int) -> Response | tuple[str, int]:
    # Anyone of the case's team (the units that may see it) with a role that reads exports,
    # not only who asked; every download is a custody event under its own name.
    export = visible_export(request_id)
    if export.status != BUILT:
        abort(409)
    opened = open_package(exports_dir() / export.package)
    if opened is None:
        abort(410)
    handle, size = opened
    sent = digest_of(handle)
    if sent != export.package_sha256:
        handle.close()
        _refuse_download(export, sent)
        message = _(
            "The package on the server no longer matches the one that was built and verified, "
            "so it is not sent. The refusal is in the custody log; ask for a new export."
        )
        return render_template("error.html", code=409, message=message), 409
    chunks = checked_chunks(handle, sent, _download_outcome(export, sent))
    response = Response(
        stream_with_context(chunks), mimetype="application/zip", direct_passthrough=True
    )
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.package}"'
    return response


def _refuse_download(export: ExportRequest, actual: str) -> None:
    _refuse(export.session_id, export.id, export.package_sha256, actual)


def _refuse(session_id: str, request_id: int, expected: str, actual: str) -> None:
    record(
        "export_download_refused",
        session_id=session_id,
        detail={"request_id": request_id, "expected_sha256": expected, "actual_sha256": actual},
    )


def _download_outcome(export: ExportRequest, sent: str) -> SendOutcome:
    """Custody for a download, written when the stream ends: a download is recorded as
    made only once every byte was handed over and matched. Plain values are captured now,
    because the stream outlives the view."""
    session_id, request_id, expected = export.session_id, export.id, export.package_sha256

    def whole(count: int) -> None:
        detail = {"request_id": request_id, "archive_sha256": expected, "sent_sha256": sent}
        record("export_download", session_id=session_id, detail={**detail, "bytes": count})

    def cut_off(count: int) -> None:
        detail = {"request_id": request_id, "archive_sha256": expected, "bytes_sent": count}
        record("export_download_incomplete", session_id=session_id, detail=detail)

    return SendOutcome(
        sent=whole,
        changed=lambda actual: _refuse(session_id, request_id, expected, actual),
        cut_off=cut_off,
    )
