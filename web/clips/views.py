"""Clips: spans of sealed sessions kept as exhibits, with their proof.

A clip is never a re-encoded copy. It names the sealed segments its span covers, and its
proof (``evidence_store.clips``) holds the chain values that tie them to the signed head; the
clip page and the court screen play those original segments from the clip's start to its
end, through the clip's own segment URLs, which send a segment only after checking it
against the proof (``web.clips.segments``).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from evidence_store import (
    Manifest,
    TrustStore,
    UsageError,
    VerificationError,
    clip_proof,
    reason_fields,
)
from evidence_store.index import SessionSummary, read_manifest
from web.access import allow
from web.audit import record
from web.clips import segments as courtroom_segments
from web.clips.forms import ClipForm
from web.clips.media import (
    clip_player,
    format_timecode,
    manifest_of,
    parse_timecode,
    proof_of,
    verify,
    wall_clock,
)
from web.evidence import data_dir, evidence_store
from web.extensions import db
from web.failures import failure_text
from web.forms import ConfirmForm
from web.models import Clip
from web.playback import TRACK_ID, refuse_unverified, serve_segment, session_player
from web.roles import CLIP_AUTHORS, CLIP_READERS
from web.visibility import session_unit, visible_clip, visible_session, visible_units

blueprint = Blueprint("exhibits", __name__, url_prefix="/clips")
SEALED_STATES = ("sealed", "interrupted")


@blueprint.get("/")
@allow(*CLIP_READERS)
def clips() -> str:
    """The clips this user may see, by unit; or one session's clips (``?session_id=``)."""
    query = select(Clip).where(Clip.unit_code.in_(visible_units(current_user)))
    row = None
    if session_id := request.args.get("session_id", ""):
        row = visible_session(session_id)
        query = query.where(Clip.session_id == session_id)
    if unit := request.args.get("unit", ""):
        query = query.where(Clip.unit_code == unit)
    found = db.session.scalars(query.order_by(Clip.unit_code, Clip.session_id, Clip.start_ms)).all()
    by_unit: dict[str, list[Clip]] = {}
    for clip in found:
        by_unit.setdefault(clip.unit_code, []).append(clip)
    record("list_clips", session_id=row.session_id if row else None, detail={"unit": unit})
    return render_template("clips/list.html", by_unit=by_unit, row=row, unit=unit)


@blueprint.app_template_filter("timecode")
def _timecode(milliseconds: int) -> str:
    """A clip's moment as every page shows it: hh:mm:ss.mmm from the session's start."""
    return format_timecode(milliseconds)


def _sealed_manifest(row: SessionSummary) -> Manifest:
    if row.state not in SEALED_STATES:
        raise UsageError(_("Only a sealed session has clips."))
    try:
        return read_manifest(evidence_store(), row.session_id)
    except VerificationError as failure:
        raise UsageError(
            _("The session's seal cannot be read: %(reason)s", reason=failure)
        ) from failure


def _new_page(
    row: SessionSummary, form: ClipForm, error: str | None, status: int
) -> tuple[str, int]:
    player: dict[str, Any] | None = None
    try:
        player = session_player(evidence_store(), row.session_id, _sealed_manifest(row).segments)
    except UsageError as problem:
        error = error or str(problem)
    return render_template("clips/new.html", row=row, form=form, player=player, error=error), status


@blueprint.get("/new")
@allow(*CLIP_AUTHORS)
def new() -> tuple[str, int]:
    row = visible_session(request.args.get("session_id", ""))
    form = ClipForm(
        data={
            "session_id": row.session_id,
            "start": request.args.get("start", "")[:20],
            "end": request.args.get("end", "")[:20],
        }
    )
    return _new_page(row, form, None, 200)


@blueprint.post("/new")
@allow(*CLIP_AUTHORS)
def create() -> Response | tuple[str, int]:
    form = ClipForm()
    row = visible_session(form.session_id.data or "")
    if not form.validate_on_submit():
        problems = "; ".join(f"{form[name].label.text}: {m[0]}" for name, m in form.errors.items())
        return _new_page(row, form, problems or _("Please fill in every field."), 400)
    try:
        start_ms, end_ms = _span(form, _sealed_manifest(row))
        proof = clip_proof(
            evidence_store(),
            row.session_id,
            _trust(),
            start_ms * 1000,
            end_ms * 1000,
        )
    except UsageError as problem:
        return _new_page(row, form, str(problem), 400)
    except VerificationError as failure:
        message = _(
            "The session fails verification, so no clip can be made of it: %(where)s: %(why)s",
            where=failure.location or "",
            why=failure_text({"reason": failure.reason, **reason_fields(failure.reason)}),
        )
        return _new_page(row, form, message, 400)
    clip = Clip(
        session_id=row.session_id,
        unit_code=session_unit(row),
        title=(form.title.data or "").strip(),
        exhibit_number=(form.exhibit_number.data or "").strip(),
        start_ms=start_ms,
        end_ms=end_ms,
        proof=proof.to_json(),
        created_by=current_user.id,
    )
    db.session.add(clip)
    db.session.commit()
    record(
        "clip_created",
        session_id=row.session_id,
        detail={
            "clip_id": clip.id,
            "title": clip.title,
            "exhibit_number": clip.exhibit_number,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "segments": [s.name for s in proof.segments],
            "head": proof.head_hash,
        },
    )
    flash(_("Clip saved with its proof."), "ok")
    return redirect(url_for("exhibits.detail", clip_id=clip.id))


def _trust() -> TrustStore:
    data = data_dir()
    return data.trust()


def _span(form: ClipForm, manifest: Manifest) -> tuple[int, int]:
    """The clip's start and end in ms, checked against the recording (translated errors)."""
    times: list[int] = []
    for field in (form.start, form.end):
        try:
            times.append(parse_timecode(field.data or ""))
        except UsageError as bad:
            raise UsageError(
                _(
                    "%(field)s: %(value)s is not a time such as 00:01:05.250 (or 1:05, 65.25)",
                    field=field.label.text,
                    value=(field.data or "").strip(),
                )
            ) from bad
    start_ms, end_ms = times
    if end_ms <= start_ms:
        raise UsageError(_("The clip must end after it starts."))
    length_ms = manifest.duration_us // 1000
    if end_ms > length_ms:
        raise UsageError(
            _(
                "The clip ends at %(end)s, after the recording's end (%(length)s).",
                end=format_timecode(end_ms),
                length=format_timecode(length_ms),
            )
        )
    return start_ms, end_ms


@blueprint.get("/<int:clip_id>")
@allow(*CLIP_READERS)
def detail(clip_id: int) -> str:
    clip = visible_clip(clip_id)
    proof = proof_of(clip)
    manifest = manifest_of(clip)
    record("view", session_id=clip.session_id, detail={"clip_id": clip.id})
    return render_template(
        "clips/clip.html",
        clip=clip,
        proof=proof,
        player=clip_player(clip),
        start=format_timecode(clip.start_ms),
        end=format_timecode(clip.end_ms),
        start_wall=wall_clock(manifest, clip.start_ms * 1000) if manifest else "",
        end_wall=wall_clock(manifest, clip.end_ms * 1000) if manifest else "",
        confirm_form=ConfirmForm(),
        export_ref=_export_ref(clip),
        verification=session.pop(f"clip-verified:{clip.id}", None),
    )


def _export_ref(clip: Clip) -> str:
    """How the export form names this clip, and only it: its exhibit number, or its own
    number where another clip this user may see shares the exhibit number."""
    shared = db.session.scalars(
        select(Clip.id)
        .where(Clip.exhibit_number == clip.exhibit_number, Clip.id != clip.id)
        .where(Clip.unit_code.in_(visible_units(current_user)))
        .limit(1)
    ).first()
    return clip.exhibit_number if shared is None else f"clip-{clip.id}"


@blueprint.post("/<int:clip_id>/verify")
@allow(*CLIP_READERS)
def verify_now(clip_id: int) -> Response:
    clip = visible_clip(clip_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = verify(clip)
    record(
        "verify",
        session_id=clip.session_id,
        detail={"clip_id": clip.id, **{k: v for k, v in outcome.items() if k != "signer"}},
    )
    # Only what the page shows, a few fields whatever the clip's length: the cookie is small.
    session[f"clip-verified:{clip.id}"] = {k: v for k, v in outcome.items() if k != "signer"}
    return redirect(url_for("exhibits.detail", clip_id=clip.id, _anchor="verification"))


@blueprint.get("/<int:clip_id>/segments/<int:index>.mp4")
@allow(*CLIP_READERS)
def segment(clip_id: int, index: int) -> Response:
    """One segment the clip covers, byte for byte and with HTTP Range support, sent only if it
    is the segment the signed chain sealed, as a ``verify_clip`` run in this process
    established; otherwise 409, logged, and the clip is taken off every court screen
    showing it."""
    return _serve_segment(visible_clip(clip_id), index, None)


@blueprint.get("/<int:clip_id>/tracks/<track>/<int:index>.mp4")
@allow(*CLIP_READERS)
def track_segment(clip_id: int, track: str, index: int) -> Response:
    """One segment of ``track`` the clip of a passthrough session covers, served as
    ``segment`` serves the others."""
    clip = visible_clip(clip_id)
    if not TRACK_ID.fullmatch(track):
        abort(404)
    return _serve_segment(clip, index, track)


def _serve_segment(clip: Clip, index: int, track: str | None) -> Response:
    try:
        covered = any((s.track, s.index) == (track, index) for s in proof_of(clip).segments)
    except VerificationError:
        covered = True  # a proof that cannot even be read is refused below, and logged
    if not covered:
        abort(404)  # not part of this clip: a clip never serves the rest of the session
    playback = courtroom_segments.playback_of(clip)
    try:
        seal = courtroom_segments.established(clip).get((track, index))
    except courtroom_segments.NotVerified as failed:
        message = _("The clip does not match its seal and is not played.")
        return refuse_unverified(playback, index, failed.outcome, message)
    if seal is None:
        abort(404)
    message = _(
        "Segment %(name)s does not match the clip's seal and is not played.",
        name=seal.path.removeprefix("segments/"),
    )
    return serve_segment(evidence_store(), playback, seal, message)
