"""Export packages asked for, approved and downloaded in the console.

A prosecutor or court clerk asks for an export of a session or a clip, with a reason. Where
the configuration requires it (``exports_need_approval``, on by default) a supervisor of the
unit approves or refuses it; then the package is built as a .zip under
``<data_dir>/exports/`` (``evidence_store.export``), verified as it is built, and only the
person who asked may download it. Every step is a custody event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from evidence_store.data_dir import DataDir
from evidence_store.errors import VerificationError
from evidence_store.export import ExportedPackage, ExportSpec, build_package
from web.access import allow
from web.accounts import visible_units
from web.audit import custody_log, record
from web.courtroom_media import proof_of
from web.courtroom_scope import visible_clip
from web.extensions import db
from web.forms import ConfirmForm
from web.models import Clip, ExportRequest, User
from web.review import evidence_store, visible_session
from web.roles import Role

blueprint = Blueprint("exports", __name__, url_prefix="/exports")

REQUESTERS = frozenset({Role.PROSECUTOR, Role.COURT_CLERK})
APPROVERS = frozenset({Role.SUPERVISOR})
VIEWERS = REQUESTERS | APPROVERS | {Role.AUDITOR}
PENDING, APPROVED, REFUSED, BUILT, FAILED = "pending", "approved", "refused", "built", "failed"


class ExportRequestForm(FlaskForm):
    session_id = StringField(validators=[Optional(), Length(max=40)])
    clip_id = IntegerField(validators=[Optional(), NumberRange(min=1)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


def need_approval() -> bool:
    settings = current_app.config["SEALROOM_SETTINGS"]
    return bool(getattr(settings, "exports_need_approval", True))


def exports_dir() -> Path:
    data: DataDir = current_app.extensions["sealroom.data"]
    directory = data.root / "exports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def visible_request(request_id: int) -> ExportRequest:
    """The request if this user may see its unit; otherwise 404, logged as a denial."""
    row = db.session.get(ExportRequest, request_id)
    if row is None:
        abort(404)
    if row.unit_code not in visible_units(current_user):
        record(
            "access_denied",
            session_id=row.session_id,
            detail={"endpoint": request.endpoint, "request_id": request_id},
        )
        abort(404)
    return row


@blueprint.get("/")
@allow(*VIEWERS)
def requests() -> str:
    form = ExportRequestForm(
        data={
            "session_id": request.args.get("session_id", ""),
            "clip_id": request.args.get("clip_id", type=int),
        }
    )
    return _list_page(form)


def _list_page(form: ExportRequestForm) -> str:
    rows = db.session.scalars(
        select(ExportRequest)
        .where(ExportRequest.unit_code.in_(visible_units(current_user)))
        .order_by(ExportRequest.created_at.desc())
        .limit(200)
    ).all()
    users = {u.id: u for u in db.session.scalars(select(User)).all()}
    clips = {
        c.id: c
        for c in db.session.scalars(
            select(Clip).where(Clip.id.in_([r.clip_id for r in rows if r.clip_id]))
        ).all()
    }
    record("list_exports", detail={"rows": len(rows)})
    return render_template(
        "exports.html",
        rows=rows,
        users=users,
        clips=clips,
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
        flash(_("Give the reason for the export, and a session or a clip."), "error")
        return _list_page(form), 400
    clip_id = form.clip_id.data
    if clip_id:
        clip = visible_clip(clip_id)
        session_id, unit_code = clip.session_id, clip.unit_code
    elif form.session_id.data:
        row = visible_session(form.session_id.data.strip())
        if row.state not in ("sealed", "interrupted"):
            flash(_("Only a sealed session can be exported."), "error")
            return _list_page(form), 400
        session_id, unit_code = row.session_id, row.unit_code
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
    else:
        _build(export)
    return redirect(url_for("exports.requests", _anchor=f"request-{export.id}"))


@blueprint.post("/<int:request_id>/approve")
@allow(*APPROVERS)
def approve(request_id: int) -> Response:
    export = _pending(request_id)
    _decide(export, APPROVED)
    record("export_approved", session_id=export.session_id, detail={"request_id": export.id})
    _build(export)
    return redirect(url_for("exports.requests", _anchor=f"request-{export.id}"))


@blueprint.post("/<int:request_id>/refuse")
@allow(*APPROVERS)
def refuse(request_id: int) -> Response:
    export = _pending(request_id)
    _decide(export, REFUSED)
    record("export_refused", session_id=export.session_id, detail={"request_id": export.id})
    flash(_("Export refused."), "ok")
    return redirect(url_for("exports.requests", _anchor=f"request-{export.id}"))


def _pending(request_id: int) -> ExportRequest:
    export = visible_request(request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if export.status != PENDING:
        abort(409)
    return export


def _decide(export: ExportRequest, status: str) -> None:
    export.status = status
    export.decided_by = current_user.id
    export.decided_at = datetime.now(UTC)
    db.session.commit()


def _spec(export: ExportRequest) -> ExportSpec:
    if export.clip_id is None:
        return ExportSpec(session_id=export.session_id)
    clip = db.session.get(Clip, export.clip_id)
    if clip is None:
        abort(404)
    return ExportSpec(
        session_id=clip.session_id,
        proof=proof_of(clip),
        title=clip.title,
        exhibit_number=clip.exhibit_number,
        clip_ref=f"clip-{clip.id}",
    )


def _build(export: ExportRequest) -> None:
    """Build, verify and keep the package; the export is a custody event either way."""
    data: DataDir = current_app.extensions["sealroom.data"]
    spec = _spec(export)
    name = f"{export.id:06d}-{spec.clip_ref or export.session_id}.zip"
    requester = db.session.get(User, export.requested_by)
    who = requester.username if requester else str(export.requested_by)
    detail: dict[str, object] = {"request_id": export.id, "clip_id": export.clip_id}
    try:
        package: ExportedPackage = build_package(
            evidence_store(),
            spec,
            data.trust(),
            exports_dir() / name,
            custody=custody_log().entries(session_id=export.session_id),
            exported_by=who,
            as_zip=True,
        )
    except VerificationError as failure:
        export.status = FAILED
        db.session.commit()
        record(
            "export",
            session_id=export.session_id,
            detail={**detail, "result": failure.kind, "location": failure.location},
        )
        flash(
            _("The evidence did not verify, so nothing was exported: %(reason)s", reason=failure),
            "error",
        )
        return
    export.status = BUILT
    export.package = name
    export.package_sha256 = package.archive_sha256 or package.package_sha256
    db.session.commit()
    record("export", session_id=export.session_id, detail={**detail, **package.custody_detail()})
    flash(_("The export package is ready."), "ok")


@blueprint.get("/<int:request_id>/download")
@allow(*REQUESTERS)
def download(request_id: int) -> Response:
    export = visible_request(request_id)
    if export.requested_by != current_user.id:
        record(
            "access_denied",
            session_id=export.session_id,
            detail={"endpoint": request.endpoint, "request_id": request_id, "reason": "not yours"},
        )
        abort(404)
    if export.status != BUILT:
        abort(409)
    path = exports_dir() / export.package
    if not path.is_file():
        abort(410)
    record(
        "export_download",
        session_id=export.session_id,
        detail={"request_id": export.id, "archive_sha256": export.package_sha256},
    )
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)
