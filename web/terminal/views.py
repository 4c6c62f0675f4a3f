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
    request,
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
from recorder.control import RecorderClient, RecorderUnreachableError
from web.access import allow
from web.audit import record
from web.display import duration, localtime, printable
from web.evidence import evidence_store
from web.extensions import db
from web.forms import PlainLines, PlainText, errors_of, lines_of
from web.labels import spoken
from web.models import Room, Unit
from web.roles import Role
from web.room_health import NoRecorderCredential, recorder_client
from web.terminal.seal_sheet import qr_svg, seal_sheet_pdf, seal_text
from web.terminal.status import FIRST_PAINT_TIMEOUT, room_status, unavailable
from web.visibility import unit_of, visible_units

blueprint = Blueprint("terminal", __name__, url_prefix="/terminal")
# The seal sheet is printed at the room; it is printed again by whoever files the record.
SEAL_SHEET_READERS = (Role.INVESTIGATOR, Role.PROSECUTOR, Role.SUPERVISOR, Role.COURT_CLERK)

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
    case_number = StringField(
        _l("Case number"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    accused = TextAreaField(
        _l("Accused"), validators=[DataRequired(), Length(max=2000), PlainLines()]
    )
    investigators = TextAreaField(
        _l("Investigators"), validators=[DataRequired(), Length(max=2000), PlainLines()]
    )
    others_present = TextAreaField(
        _l("Others present"), validators=[Optional(), Length(max=2000), PlainLines()]
    )


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500), PlainText()])
    reason_other = StringField(
        _l("Other reason"), validators=[Optional(), Length(max=500), PlainText()]
    )

    def chosen(self) -> str:
        return (self.reason_other.data or "").strip() or (self.reason.data or "").strip()


def _room(code: str) -> Room:
    room: Room | None = db.session.scalar(select(Room).where(Room.code == code))
    if room is None or room.unit.code not in visible_units(current_user):
        abort(404)
    return room


def _client(room: Room) -> RecorderClient:
    """The room's recorder, with the room's own token, its identity checked before use;
    NoRecorderCredential when the installation's room key cannot be read."""
    return recorder_client(room)


def _unavailable(problem: SealroomError) -> str:
    return unavailable(problem)


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
    if request.method == "POST" and not form.validate_on_submit():
        for message in errors_of(form):
            flash(message, "error")
        return render_template("terminal/start.html", room=room, form=form), 400
    if form.validate_on_submit():
        others = []
        for line in lines_of(form.others_present.data):
            name, _sep, role = line.rpartition(":")
            others.append(
                {
                    "name": (name or line).strip(),
                    "role": (role if name else "").strip() or _("present"),
                }
            )
        try:
            # Filed under the room's registered unit: the form names none, and the
            # recorder refuses any unit but the one the room is registered to.
            status = _client(room).start(
                case_number=(form.case_number.data or "").strip(),
                room=room.name,
                unit=room.unit.code,
                accused=lines_of(form.accused.data),
                investigators=lines_of(form.investigators.data),
                others_present=others,
            )
        except (RecorderUnreachableError, NoRecorderCredential) as problem:
            flash(_unavailable(problem), "error")
            return render_template("terminal/start.html", room=room, form=form), 503
        except SealroomError as exc:
            flash(spoken(str(exc)), "error")
            return render_template("terminal/start.html", room=room, form=form), 409
        record("session_started", session_id=status.session_id, detail={"room": room.code})
        return redirect(url_for("terminal.live", code=room.code))
    return render_template("terminal/start.html", room=room, form=form)


@blueprint.get("/<code>")
@allow(Role.INVESTIGATOR)
def live(code: str) -> str:
    room = _room(code)
    return _live_page(room, ReasonForm())


def _live_page(room: Room, form: ReasonForm) -> str:
    """The live page as it stands now: state, controls, figures and devices rendered from
    the recorder's status (terminal.js then keeps them in step)."""
    return render_template(
        "terminal/live.html",
        room=room,
        form=form,
        status=room_status(room, timeout=FIRST_PAINT_TIMEOUT),
        pause_reasons=PAUSE_REASONS,
        resume_reasons=RESUME_REASONS,
        stop_reasons=STOP_REASONS,
    )


@blueprint.get("/<code>/status.json")
@allow(Role.INVESTIGATOR)
def status(code: str) -> WerkzeugResponse:
    room = _room(code)
    payload = room_status(room)
    response = jsonify(payload)
    if not payload["reachable"]:
        response.status_code = 503
    return response


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
    if not form.validate_on_submit():
        for message in errors_of(form) or [_("A reason is required.")]:
            flash(message, "error")
        return _refused(room, form)
    reason = form.chosen()
    if not reason:
        flash(_("A reason is required."), "error")
        return redirect(url_for("terminal.live", code=room.code))
    if action == "stop" and request.form.get("confirmed") != "1":
        # A sealed session cannot be continued, so the server itself asks: the page's dialog
        # is only a convenience (no script, a stale page or a replayed form must not stop).
        return _confirm_stop(room, reason)
    try:
        result = getattr(_client(room), action)(reason)
    except (RecorderUnreachableError, NoRecorderCredential) as problem:
        flash(_unavailable(problem), "error")
        return redirect(url_for("terminal.live", code=room.code))
    except SealroomError as exc:
        flash(spoken(str(exc)), "error")
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


def _refused(room: Room, form: ReasonForm) -> WerkzeugResponse:
    """A reason refused (a control character in it): the live page again, with why, 400."""
    return WerkzeugResponse(_live_page(room, form), status=400, mimetype="text/html")


def _confirm_stop(room: Room, reason: str) -> WerkzeugResponse:
    """Stop without its confirmation: a page that asks (400), and the recording goes on."""
    page = render_template(
        "terminal/stop_confirm.html", room=room, form=ReasonForm(), reason=reason
    )
    return WerkzeugResponse(page, status=400, mimetype="text/html")


def _sealed_manifest(session_id: str) -> Manifest:
    """The session's manifest if it is sealed and this user may see it; otherwise 404."""
    try:
        check_session_id(session_id)
        manifest = read_manifest(evidence_store(), session_id)
    except (UsageError, TamperedError):
        abort(404)
    if unit_of(manifest.metadata.unit) not in visible_units(current_user):
        abort(404)
    return manifest


def signers_of(manifest: Manifest) -> list[tuple[str, str]]:
    """(name, role) of everyone present, each to sign: investigators, the accused, others."""
    meta = manifest.metadata
    people = [(printable(name), str(_("Investigator"))) for name in meta.investigators]
    people += [(printable(name), str(_("The accused"))) for name in meta.accused]
    people += [(printable(p.name), printable(p.role)) for p in meta.others_present]
    return people


def _unit_header(manifest: Manifest) -> str:
    """The unit the session is filed under, by its name (its code when it has none here)."""
    code = manifest.metadata.unit or ""
    unit = db.session.scalars(select(Unit).where(Unit.code == code)).first()
    return unit.name if unit is not None and unit.name else code


def _seal_sheet_page(manifest: Manifest, pdf_url: str, print_url: str, *, reprint: bool) -> str:
    """The sheet on screen. Opening it is a view of the session's record, logged as such;
    only the Print button's POST records a print (``_printed``)."""
    record("seal_sheet_viewed", session_id=manifest.session, detail={"reprint": reprint})
    return render_template(
        "terminal/seal_sheet.html",
        manifest=manifest,
        qr=qr_svg(seal_text(manifest)),
        signers=signers_of(manifest),
        unit_name=_unit_header(manifest),
        pdf_url=pdf_url,
        print_url=print_url,
        print_form=FlaskForm(),
        reprint=reprint,
    )


def _printed(session_id: str, sheet_url: str, *, reprint: bool) -> ResponseReturnValue:
    """One press of Print: one custody event, then the page prints (print.js). Without a
    valid form (CSRF) nothing is recorded, and the page does not print."""
    manifest = _sealed_manifest(session_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    record(
        "seal_sheet_printed",
        session_id=manifest.session,
        detail={"reprint": True} if reprint else None,
    )
    if request.accept_mimetypes.best == "application/json":  # print.js: it prints next
        return jsonify(recorded=True)
    flash(_("The print is recorded: print the page with the browser."), "info")
    return redirect(sheet_url, code=303)


@blueprint.get("/<code>/seal/<session_id>")
@allow(Role.INVESTIGATOR)
def seal_sheet(code: str, session_id: str) -> str:
    room = _room(code)
    manifest = _sealed_manifest(session_id)
    return _seal_sheet_page(
        manifest,
        url_for("terminal.seal_sheet_as_pdf", code=room.code, session_id=session_id),
        url_for("terminal.seal_sheet_printed", code=room.code, session_id=session_id),
        reprint=False,
    )


@blueprint.post("/<code>/seal/<session_id>/printed")
@allow(Role.INVESTIGATOR)
def seal_sheet_printed(code: str, session_id: str) -> ResponseReturnValue:
    room = _room(code)
    sheet = url_for("terminal.seal_sheet", code=room.code, session_id=session_id)
    return _printed(session_id, sheet, reprint=False)


@blueprint.get("/seal/<session_id>")
@allow(*SEAL_SHEET_READERS)
def reprint(session_id: str) -> str:
    """The seal sheet again, from the session's page; printing it is a custody event like
    the first print."""
    manifest = _sealed_manifest(session_id)
    return _seal_sheet_page(
        manifest,
        url_for("terminal.reprint_as_pdf", session_id=session_id),
        url_for("terminal.reprint_printed", session_id=session_id),
        reprint=True,
    )


@blueprint.post("/seal/<session_id>/printed")
@allow(*SEAL_SHEET_READERS)
def reprint_printed(session_id: str) -> ResponseReturnValue:
    sheet = url_for("terminal.reprint", session_id=session_id)
    return _printed(session_id, sheet, reprint=True)


@blueprint.get("/seal/<session_id>.pdf")
@allow(*SEAL_SHEET_READERS)
def reprint_as_pdf(session_id: str) -> WerkzeugResponse:
    return _seal_sheet_pdf(session_id, reprint=True)


@blueprint.get("/<code>/seal/<session_id>.pdf")
@allow(Role.INVESTIGATOR)
def seal_sheet_as_pdf(code: str, session_id: str) -> WerkzeugResponse:
    _room(code)
    return _seal_sheet_pdf(session_id, reprint=False)


def _seal_sheet_pdf(session_id: str, *, reprint: bool) -> WerkzeugResponse:
    manifest = _sealed_manifest(session_id)
    detail: dict[str, Any] = {"format": "pdf", **({"reprint": True} if reprint else {})}
    record("seal_sheet_printed", session_id=session_id, detail=detail)
    meta = manifest.metadata
    # Text from users is written out as it is, control characters spelled (``printable``).
    pauses = "; ".join(
        f"{localtime(p.paused_at)} → {localtime(p.resumed_at)}: {printable(p.reason)}"
        for p in manifest.pauses
    )
    others = ", ".join(f"{printable(p.name)} ({printable(p.role)})" for p in meta.others_present)
    facts = [
        (_("Unit"), _unit_header(manifest)),
        (_("Session"), manifest.session),
        (_("Case number"), printable(meta.case_number)),
        (_("Room"), printable(meta.room)),
        (_("Accused"), ", ".join(printable(a) for a in meta.accused)),
        (_("Investigators"), ", ".join(printable(i) for i in meta.investigators)),
        (_("Others present"), others),
        (_("Started"), localtime(manifest.started_at)),
        (_("Ended"), f"{localtime(manifest.ended_at)} — {printable(manifest.stop_reason)}"),
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
        signers=[f"{name} — {role}" for name, role in signers_of(manifest)],
    )
    return WerkzeugResponse(
        document,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{session_id}-seal.pdf"'},
    )
