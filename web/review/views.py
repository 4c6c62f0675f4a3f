"""Reviewing sealed sessions: search, the session page, playback, verification, bookmarks.

A user sees the sessions of their unit and of the units below it. Asking for any other
session answers 404 (its existence is not revealed) and is logged as a denial.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from evidence_store import (
    Manifest,
    TamperedError,
    UsageError,
    VerificationError,
    layout,
    reason_fields,
    runs,
    verify_session,
)
from evidence_store.export import ASSETS
from evidence_store.index import SessionPage, SessionSearch, read_links, read_manifest
from web.access import allow, public
from web.audit import custody_log, record
from web.clips import moment_stamp
from web.display import localtime, state_label
from web.evidence import (
    console_settings,
    data_dir,
    evidence_store,
    session_index,
    witnessing,
)
from web.extensions import db
from web.failures import failure_text
from web.forms import BookmarkForm, ConfirmForm, SearchForm, errors_of
from web.metrics import verification_failed
from web.models import ROOT_UNIT, Bookmark
from web.playback import (
    TRACK_ID,
    Playback,
    refuse_unverified,
    serve_segment,
    session_player,
    session_seals,
)
from web.review.progress import PROGRESS_MIMETYPE as STREAMED
from web.review.progress import progress_lines
from web.roles import ALARM_READERS, EVIDENCE_READERS
from web.trust import (
    Verdict,
    last_verdict,
    last_verdicts,
    open_alarm_count,
    raise_alarm,
    shown_state,
    verdict_of,
)
from web.visibility import EventScope, known_units, visible_session, visible_units

blueprint = Blueprint("review", __name__, url_prefix="/sessions")
MAX_PAGE = 10_000  # deeper than anyone pages; a search narrows faster


@blueprint.get("/")
@allow(*EVIDENCE_READERS)
def sessions() -> str | tuple[str, int]:
    """The list and search: the catalog alone, newest first, a page at a time."""
    form = SearchForm(request.args)
    filters: dict[str, str] = {}
    if form.validate():
        for name in ("case", "accused", "room", "investigator", "date_from", "date_to"):
            if value := (getattr(form, name).data or "").strip():
                filters[name] = value
    search = SessionSearch(
        units=visible_units(current_user),
        unit_of_unassigned=ROOT_UNIT,
        known_units=known_units(),
        case_number=filters.get("case", ""),
        accused=filters.get("accused", ""),
        room=filters.get("room", ""),
        investigator=filters.get("investigator", ""),
        date_from=filters.get("date_from", ""),
        date_to=filters.get("date_to", ""),
        timezone=console_settings().timezone,  # a day is a day where the console is
    )
    page = min(max(1, request.args.get("page", 1, type=int) or 1), MAX_PAGE)
    try:
        rows = session_index().search(search, page=page, per_page=console_settings().page_size)
    except UsageError as bad:
        flash(_("Dates are written YYYY-MM-DD (%(why)s).", why=str(bad)), "error")
        empty = SessionPage([], 1, console_settings().page_size, 0)
        page_of_nothing = render_template(
            "review/list.html", rows=empty, form=form, filters=filters, verdicts={}, open_alarms=0
        )
        return page_of_nothing, 400
    record("list_sessions", detail={"filters": filters, "page": page})
    return render_template(
        "review/list.html",
        rows=rows,
        form=form,
        filters=filters,
        witnessing=witnessing(),
        verdicts=last_verdicts([row.session_id for row in rows.items]),
        open_alarms=open_alarm_count() if current_user.role in ALARM_READERS else 0,
    )


@blueprint.get("/<session_id>")
@allow(*EVIDENCE_READERS)
def detail(session_id: str) -> str:
    row = visible_session(session_id)
    store = evidence_store()
    manifest: Manifest | None
    try:
        manifest = read_manifest(store, session_id)
    except TamperedError:
        manifest = None
    links = read_links(store, session_id)
    events = [link for link in links if link.event is not None]
    segments = (
        manifest.segments
        if manifest
        else [link.segment for link in links if link.segment is not None]
    )
    started = next((link.event for link in links if link.event is not None), None)
    player = session_player(
        store,
        session_id,
        segments,
        media=started.media if started is not None else None,
        metadata=started.metadata if started is not None else None,
        runs=runs(manifest) if manifest else None,
    )
    bookmarks = db.session.scalars(
        select(Bookmark)
        .where(
            Bookmark.session_id == session_id,
            or_(Bookmark.user_id == current_user.id, Bookmark.shared),
        )
        .order_by(Bookmark.offset_ms)
    ).all()
    record("view", session_id=session_id)
    verdict = last_verdict(session_id)
    custody = EventScope(current_user).visible(custody_log().entries(session_id=session_id))
    return render_template(
        "review/session.html",
        row=row,
        verdict=verdict,
        shown_state=shown_state(str(row.state), verdict),
        manifest=manifest,
        events=events,
        player=player,
        bookmarks=bookmarks,
        stamps={b.id: moment_stamp(manifest, b.offset_ms) for b in bookmarks},
        custody=custody,
        bookmark_form=BookmarkForm(),
        confirm_form=ConfirmForm(),
        verification=session.pop(f"verified:{session_id}", None),
        witnessing=witnessing(),
        # Looked up afresh: the receipt may have arrived since the row was indexed.
        witnessed=row.witnessed
        or store.exists(layout.session_prefix(session_id) + layout.SEAL_RECEIPT),
    )


@blueprint.get("/<session_id>/segments/<int:index>.mp4")
@allow(*EVIDENCE_READERS)
def segment(session_id: str, index: int) -> Response:
    """The sealed original segment, byte for byte, with HTTP Range support, sent only if it
    is what the session's signed link for it seals (``web.playback``); otherwise 409."""
    visible_session(session_id)
    if not 0 <= index < 10**6:
        abort(404)
    return _serve(session_id, index, None)


def _serve(session_id: str, index: int, track: str | None) -> Response:
    store = evidence_store()
    playback = Playback(session_id=session_id, place=session_id)
    name = layout.segment_path(index, track).removeprefix("segments/")
    try:
        seal = session_seals().segment(store, session_id, index, track)
    except VerificationError as failure:
        message = _(
            "Segment %(name)s is not played: the chain that seals it does not verify "
            "(%(where)s: %(why)s).",
            name=name,
            where=failure.location or "",
            why=failure_text(coded(failure)),
        )
        outcome = {
            "intact": False,
            "result": failure.kind,
            "location": failure.location or "",
            **coded(failure),
        }
        return refuse_unverified(playback, index, outcome, message)
    if seal is None:
        abort(404)  # no signed link seals a segment of that number (yet)
    message = _("Segment %(name)s does not match its seal and is not played.", name=name)
    return serve_segment(store, playback, seal, message)


@blueprint.get("/<session_id>/tracks/<track>/<int:index>.mp4")
@allow(*EVIDENCE_READERS)
def track_segment(session_id: str, track: str, index: int) -> Response:
    """A passthrough session's sealed segment of ``track``, as ``segment`` serves the
    others: sent only if it is what its signed link seals, checked as it is served."""
    visible_session(session_id)
    if not TRACK_ID.fullmatch(track) or not 0 <= index < 10**6:
        abort(404)
    return _serve(session_id, index, track)


@blueprint.get("/player/tracks.js")
@public
def tracks_script() -> Response:
    """The multi-track player: code only, no evidence (the export ships the same file)."""
    return send_file(ASSETS / "tracks.js", mimetype="text/javascript", max_age=0)


@blueprint.get("/player/tracks.css")
@public
def tracks_style() -> Response:
    return send_file(ASSETS / "tracks.css", mimetype="text/css", max_age=0)


@blueprint.post("/<session_id>/verify")
@allow(*EVIDENCE_READERS)
def verify(session_id: str) -> ResponseReturnValue:
    """Verify the whole session now. The page's script asks for its progress
    (``application/x-ndjson``, ``web.review.progress``); a script asking for JSON gets the
    answer at the end; a plain form is redirected back to the page."""
    row = visible_session(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    store, trust = evidence_store(), data_dir().trust()

    def run(progress: Callable[[int], None]) -> dict[str, Any]:
        try:
            result = verify_session(store, session_id, trust, progress=progress)
        except VerificationError as failure:
            return {
                "intact": False,
                "result": failure.kind,
                "location": failure.location,
                **coded(failure),
            }
        return {
            "intact": True,
            "segments": result.segments,
            "head": result.head,
            "signer": result.signer,
        }

    def conclude(outcome: dict[str, Any]) -> dict[str, Any]:
        return _concluded(session_id, str(row.state), outcome)

    wanted = request.accept_mimetypes.best_match(["text/html", "application/json", STREAMED])
    if wanted == STREAMED:
        body = stream_with_context(progress_lines(run, row.media_bytes, conclude))
        response = Response(body, mimetype=STREAMED)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"  # nginx passes each line on at once
        return response
    outcome = run(lambda _n: None)
    answer = conclude(outcome)
    if wanted == "application/json":  # the page asked in the background: it keeps its place
        return jsonify(answer)
    session[f"verified:{session_id}"] = outcome
    return redirect(url_for("review.detail", session_id=session_id, _anchor="verification"))


def _concluded(session_id: str, state: str, outcome: dict[str, Any]) -> dict[str, Any]:
    """A verification's outcome, recorded in custody (and an alarm if it failed); what the
    page shows of it."""
    if not outcome["intact"]:
        verification_failed("verify")
    entry = record(
        "verify", session_id=session_id, detail={k: v for k, v in outcome.items() if k != "signer"}
    )
    verdict = verdict_of(entry) if entry is not None else None  # None: journaled
    if verdict is not None and not verdict.intact:
        raise_alarm(session_id, verdict)
    return {
        "intact": outcome["intact"],
        "label": verdict.label if verdict else "",
        "shown_state": state_label(shown_state(state, verdict)),
        "at": localtime(entry.at) if entry is not None else "",
        "text": _verification_text(outcome),
        # The page's "last verification" line, as the page renders it, now this one.
        "last_verification": _last_verification_line(verdict) if verdict is not None else "",
    }


def _last_verification_line(verdict: Verdict | None) -> str:
    return render_template("review/_last_verification.html", verdict=verdict)


@blueprint.get("/<session_id>/last-verification")
@allow(*EVIDENCE_READERS)
def last_verification(session_id: str) -> Response:
    """The page's "last verification" line as it stands: the page asks again when its player
    was refused a segment (the refusal is a verification's finding)."""
    row = visible_session(session_id)
    verdict = last_verdict(session_id)
    return jsonify(
        last_verification=_last_verification_line(verdict),
        shown_state=state_label(shown_state(str(row.state), verdict)),
    )


def _verification_text(outcome: dict[str, Any]) -> str:
    if outcome["intact"]:
        head = str(outcome["head"])[:16] + "…"
        return str(_("%(n)s segments, seal %(head)s", n=outcome["segments"], head=head))
    return f"{outcome['location'] or ''}: {failure_text(outcome)}"


def coded(failure: VerificationError) -> dict[str, Any]:
    """A failure's reason as recorded: its English, and its code and values when it has them."""
    return {"reason": failure.reason, **reason_fields(failure.reason)}


def _wants_json() -> bool:
    """A request from the page's script (fetch), not a form submitted by the browser."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@blueprint.post("/<session_id>/bookmarks")
@allow(*EVIDENCE_READERS)
def add_bookmark(session_id: str) -> ResponseReturnValue:
    visible_session(session_id)
    form = BookmarkForm()
    if not form.validate_on_submit():
        message = "; ".join(errors_of(form)) or _("Bad request.")
        if _wants_json():
            return jsonify(error=message), 400
        return render_template("error.html", code=400, message=message), 400
    bookmark = Bookmark(
        user_id=current_user.id,
        session_id=session_id,
        offset_ms=form.offset_ms.data,
        note=(form.note.data or "").strip(),
        shared=not form.private.data,
    )
    db.session.add(bookmark)
    try:
        db.session.commit()
    except IntegrityError:  # the same note at the same moment, twice (a double click)
        db.session.rollback()
        message = _("This bookmark exists already.")
        return (jsonify(error=message), 409) if _wants_json() else (message, 409)
    record(
        "bookmark_added",
        session_id=session_id,
        detail={"offset_ms": bookmark.offset_ms, "note": bookmark.note, "shared": bookmark.shared},
    )
    if _wants_json():
        try:
            manifest: Manifest | None = read_manifest(evidence_store(), session_id)
        except TamperedError:
            manifest = None
        timecode, wall = moment_stamp(manifest, bookmark.offset_ms)
        return jsonify(
            id=bookmark.id,
            seconds=bookmark.offset_ms / 1000,
            time=timecode,
            wall=wall,
            note=bookmark.note,
            shared=bookmark.shared,
            delete_url=url_for(
                "review.delete_bookmark", session_id=session_id, bookmark_id=bookmark.id
            ),
        )
    flash(_("Bookmark saved."), "ok")
    return redirect(url_for("review.detail", session_id=session_id, _anchor="bookmarks"))


@blueprint.post("/<session_id>/bookmarks/<int:bookmark_id>/delete")
@allow(*EVIDENCE_READERS)
def delete_bookmark(session_id: str, bookmark_id: int) -> ResponseReturnValue:
    visible_session(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    bookmark = db.session.get(Bookmark, bookmark_id)
    if bookmark is None or bookmark.user_id != current_user.id or bookmark.session_id != session_id:
        abort(404)
    db.session.delete(bookmark)
    db.session.commit()
    record("bookmark_removed", session_id=session_id, detail={"offset_ms": bookmark.offset_ms})
    if _wants_json():
        return jsonify(removed=bookmark_id)
    return redirect(url_for("review.detail", session_id=session_id, _anchor="bookmarks"))
