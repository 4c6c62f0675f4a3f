"""The room terminal: a touch-friendly kiosk for the investigator.

It drives the room's recorder service through ``recorder.control.client``. When the recorder cannot
be reached it says so plainly: it never shows a recording that is not happening.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from evidence_store import Manifest, SealroomError, TamperedError, UsageError, check_session_id
from evidence_store.index import read_manifest
from evidence_store.upload import last_status
from recorder.control import RecorderClient, RecorderUnreachableError
from web.access import allow
from web.audit import record
from web.display import duration, localtime
from web.evidence import console_settings, data_dir, evidence_store
from web.extensions import db
from web.models import Room
from web.recorders import recorder_client
from web.roles import Role
from web.terminal.seal_sheet import qr_svg, seal_sheet_pdf, seal_text
from web.visibility import visible_units

blueprint = Blueprint("terminal", __name__, url_prefix="/terminal")

PAUSE_REASONS = [
    _l("Rest break requested"),
    _l("The accused asked to see a lawyer"),
    _l("Medical need"),
    _l("Interpreter change"),
    _l("Meal break"),
]
RESUME_REASONS = [_l("Questioning resumes"), _l("Lawyer present")]
STOP_REASONS = [
    _l("Questioning finished"),
    _l("Ended at the accused's request"),
    _l("Equipment failure"),
]


class StartForm(FlaskForm):
    case_number = StringField(validators=[DataRequired(), Length(max=200)])
    accused = TextAreaField(validators=[DataRequired(), Length(max=2000)])
    investigators = TextAreaField(validators=[DataRequired(), Length(max=2000)])
    others_present = TextAreaField(validators=[Optional(), Length(max=2000)])


class ReasonForm(FlaskForm):
    reason = StringField(validators=[Optional(), Length(max=500)])
    reason_other = StringField(validators=[Optional(), Length(max=500)])

    def chosen(self) -> str:
        return (self.reason_other.data or "").strip() or (self.reason.data or "").strip()


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _room(code: str) -> Room:
    room: Room | None = db.session.scalar(select(Room).where(Room.code == code))
    if room is None or room.unit.code not in visible_units(current_user):
        abort(404)
    return room


def _client(room: Room) -> RecorderClient:
    """The room's recorder, with the room's own token, its identity checked before use."""
    return recorder_client(data_dir().root, console_settings(), room.code, room.recorder_url)


@blueprint.get("/")
@allow(Role.INVESTIGATOR)
def rooms() -> str:
    rows = db.session.scalars(select(Room).order_by(Room.code)).all()
    return render_template(
        "terminal/rooms.html", rooms=[r for r in rows if r.unit.code in visible_units(current_user)]
    )


@blueprint.route("/<code>/start", methods=["GET", "POST"])
@allow(Role.INVESTIGATOR)
def start(code: str) -> ResponseReturnValue:
    room = _room(code)
    form = StartForm()
    if form.validate_on_submit():
        others = []
        for line in _lines(form.others_present.data):
            name, _sep, role = line.rpartition(":")
            others.append(
                {
                    "name": (name or line).strip(),
                    "role": (role if name else "").strip() or _("present"),
                }
            )
        try:
            status = _client(room).start(
                case_number=(form.case_number.data or "").strip(),
                room=room.name,
                unit=room.unit.code,
                accused=_lines(form.accused.data),
                investigators=_lines(form.investigators.data),
                others_present=others,
            )
        except RecorderUnreachableError:
            flash(_("The room's recorder cannot be reached. Nothing is being recorded."), "error")
            return render_template("terminal/start.html", room=room, form=form), 503
        except SealroomError as exc:
            flash(str(exc), "error")
            return render_template("terminal/start.html", room=room, form=form), 409
        record("session_started", session_id=status.session_id, detail={"room": room.code})
        return redirect(url_for("terminal.live", code=room.code))
    return render_template("terminal/start.html", room=room, form=form)


@blueprint.get("/<code>")
@allow(Role.INVESTIGATOR)
def live(code: str) -> str:
    room = _room(code)
    return render_template(
        "terminal/live.html",
        room=room,
        form=ReasonForm(),
        pause_reasons=PAUSE_REASONS,
        resume_reasons=RESUME_REASONS,
        stop_reasons=STOP_REASONS,
    )


@blueprint.get("/<code>/status.json")
@allow(Role.INVESTIGATOR)
def status(code: str) -> WerkzeugResponse:
    room = _room(code)
    try:
        client = _client(room)
        current = client.status()
        level = client.audio_level()
    except SealroomError:  # unreachable, not the room it claims, or not reachable safely
        response = jsonify({"reachable": False})
        response.status_code = 503
        return response
    # The upload backlog comes from the uploader's own status file (no network needed).
    uploader = last_status(data_dir()) or {}
    backlog = current.backlog or uploader.get("backlog") or {}
    payload: dict[str, Any] = {
        "reachable": True,
        **current.as_dict(),
        "audio_dbfs": level.dbfs,
        "backlog_objects": backlog.get("objects"),
    }
    return jsonify(payload)


@blueprint.get("/<code>/preview.jpg")
@allow(Role.INVESTIGATOR)
def preview(code: str) -> WerkzeugResponse:
    room = _room(code)
    try:
        jpeg = _client(room).preview_jpeg()
    except (RecorderUnreachableError, SealroomError):
        abort(503)
    return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@blueprint.post("/<code>/<action>")
@allow(Role.INVESTIGATOR)
def control(code: str, action: str) -> WerkzeugResponse:
    if action not in {"pause", "resume", "stop"}:
        abort(404)
    room = _room(code)
    form = ReasonForm()
    reason = form.chosen() if form.validate_on_submit() else ""
    if not reason:
        flash(_("A reason is required."), "error")
        return redirect(url_for("terminal.live", code=room.code))
    try:
        result = getattr(_client(room), action)(reason)
    except RecorderUnreachableError:
        flash(_("The room's recorder cannot be reached. Nothing is being recorded."), "error")
        return redirect(url_for("terminal.live", code=room.code))
    except SealroomError as exc:
        flash(str(exc), "error")
        return redirect(url_for("terminal.live", code=room.code))
    session_id = getattr(result, "session_id", None)
    record(
        f"session_{action}d" if action != "stop" else "session_stopped",
        session_id=session_id,
        detail={"reason": reason, "room": room.code},
    )
    if action == "stop" and session_id:
        return redirect(url_for("terminal.seal_sheet", code=room.code, session_id=session_id))
    return redirect(url_for("terminal.live", code=room.code))


def _sealed_manifest(session_id: str) -> Manifest:
    """The session's manifest if it is sealed and this user may see it; otherwise 404."""
    try:
        check_session_id(session_id)
        manifest = read_manifest(evidence_store(), session_id)
    except (UsageError, TamperedError):
        abort(404)
    if (manifest.metadata.unit or "supreme") not in visible_units(current_user):
        abort(404)
    return manifest


@blueprint.get("/<code>/seal/<session_id>")
@allow(Role.INVESTIGATOR)
def seal_sheet(code: str, session_id: str) -> str:
    room = _room(code)
    manifest = _sealed_manifest(session_id)
    record("seal_sheet_printed", session_id=session_id)
    return render_template(
        "terminal/seal_sheet.html", room=room, manifest=manifest, qr=qr_svg(seal_text(manifest))
    )


@blueprint.get("/<code>/seal/<session_id>.pdf")
@allow(Role.INVESTIGATOR)
def seal_sheet_as_pdf(code: str, session_id: str) -> WerkzeugResponse:
    _room(code)
    manifest = _sealed_manifest(session_id)
    record("seal_sheet_printed", session_id=session_id, detail={"format": "pdf"})
    meta = manifest.metadata
    pauses = "; ".join(
        f"{localtime(p.paused_at)} → {localtime(p.resumed_at)}: {p.reason}" for p in manifest.pauses
    )
    facts = [
        (_("Session"), manifest.session),
        (_("Case number"), meta.case_number),
        (_("Room"), meta.room),
        (_("Accused"), ", ".join(meta.accused)),
        (_("Investigators"), ", ".join(meta.investigators)),
        (_("Others present"), ", ".join(f"{p.name} ({p.role})" for p in meta.others_present)),
        (_("Started"), localtime(manifest.started_at)),
        (_("Ended"), f"{localtime(manifest.ended_at)} — {manifest.stop_reason or ''}"),
        (_("Pauses"), pauses),
        (
            _("Recorded duration"),
            f"{duration(manifest.duration_us)} ({len(manifest.segments)} {_('segments')})",
        ),
    ]
    document = seal_sheet_pdf(
        title=_("Recording seal sheet"),
        intro=_("To be attached to the written record (biên bản) of the questioning."),
        facts=facts,
        seal_label=_("Seal (SHA-256 chain head)"),
        seal=manifest.chain.head,
        qr_text=seal_text(manifest),
        signers=[_("Investigator"), _("The accused")],
    )
    return WerkzeugResponse(
        document,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{session_id}-seal.pdf"'},
    )
