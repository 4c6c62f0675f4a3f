"""Reviewing sealed sessions: search, the session page, playback, verification, bookmarks.

A user sees the sessions of their unit and of the units below it. Asking for any other
session answers 404 (its existence is not revealed) and is logged as a denial.
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
    TamperedError,
    VerificationError,
    layout,
    verify_session,
)
from evidence_store.index import SessionSearch, read_links, read_manifest
from web.access import allow
from web.audit import custody_log, record
from web.evidence import console_settings, data_dir, evidence_store, refresh_index
from web.extensions import db
from web.forms import BookmarkForm, ConfirmForm, SearchForm
from web.models import ROOT_UNIT, Bookmark
from web.playback import mime_type, serve_object
from web.roles import EVIDENCE_READERS
from web.visibility import visible_session, visible_units

blueprint = Blueprint("review", __name__, url_prefix="/sessions")


@blueprint.get("/")
@allow(*EVIDENCE_READERS)
def sessions() -> str:
    index = refresh_index()
    form = SearchForm(request.args)
    filters: dict[str, str] = {}
    if form.validate():
        for name in ("case", "accused", "room", "investigator", "date_from", "date_to"):
            if value := (getattr(form, name).data or "").strip():
                filters[name] = value
    search = SessionSearch(
        units=visible_units(current_user),
        unit_of_unassigned=ROOT_UNIT,
        case_number=filters.get("case", ""),
        accused=filters.get("accused", ""),
        room=filters.get("room", ""),
        investigator=filters.get("investigator", ""),
        date_from=filters.get("date_from", ""),
        date_to=filters.get("date_to", ""),
    )
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows = index.search(search, page=page, per_page=console_settings().page_size)
    record("list_sessions", detail={"filters": filters, "page": page})
    return render_template("review/list.html", rows=rows, form=form, filters=filters)


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
    prefix = layout.session_prefix(session_id)
    head = b""
    if segments:
        key = prefix + layout.segment_path(0)
        with store.open_range(key, 0, min(64 * 1024, store.size(key))) as handle:
            head = handle.read()
    player: dict[str, Any] = {
        "mime": mime_type(head),
        "duration": sum(s.duration_us for s in segments) / 1e6,
        "segments": [
            {
                "url": url_for("review.segment", session_id=session_id, index=s.index),
                "start": s.start_us / 1e6,
                "duration": s.duration_us / 1e6,
            }
            for s in segments
        ],
    }
    bookmarks = db.session.scalars(
        select(Bookmark)
        .where(Bookmark.session_id == session_id, Bookmark.user_id == current_user.id)
        .order_by(Bookmark.offset_ms)
    ).all()
    record("view", session_id=session_id)
    custody = custody_log().entries(session_id=session_id)
    return render_template(
        "review/session.html",
        row=row,
        manifest=manifest,
        events=events,
        player=player,
        bookmarks=bookmarks,
        custody=custody,
        bookmark_form=BookmarkForm(),
        confirm_form=ConfirmForm(),
        verification=session.pop(f"verified:{session_id}", None),
    )


@blueprint.get("/<session_id>/segments/<int:index>.mp4")
@allow(*EVIDENCE_READERS)
def segment(session_id: str, index: int) -> Response:
    """The sealed original segment, byte for byte, with HTTP Range support."""
    visible_session(session_id)
    if not 0 <= index < 10**6:
        abort(404)
    store = evidence_store()
    key = layout.session_prefix(session_id) + layout.segment_path(index)
    if not store.exists(key):
        abort(404)
    played = session.setdefault("played", [])
    if session_id not in played:  # one custody event per session per login, not per range
        record("playback", session_id=session_id)
        session["played"] = [*played, session_id][-50:]
    return serve_object(store, key, "video/mp4")


@blueprint.post("/<session_id>/verify")
@allow(*EVIDENCE_READERS)
def verify(session_id: str) -> Response:
    visible_session(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    data = data_dir()
    try:
        result = verify_session(evidence_store(), session_id, data.trust())
        outcome: dict[str, Any] = {
            "intact": True,
            "segments": result.segments,
            "head": result.head,
            "signer": result.signer,
        }
    except VerificationError as failure:
        outcome = {
            "intact": False,
            "result": failure.kind,
            "location": failure.location,
            "reason": failure.reason,
        }
    record(
        "verify", session_id=session_id, detail={k: v for k, v in outcome.items() if k != "signer"}
    )
    session[f"verified:{session_id}"] = outcome
    return redirect(url_for("review.detail", session_id=session_id, _anchor="verification"))


@blueprint.post("/<session_id>/bookmarks")
@allow(*EVIDENCE_READERS)
def add_bookmark(session_id: str) -> Response:
    visible_session(session_id)
    form = BookmarkForm()
    if not form.validate_on_submit():
        abort(400)
    bookmark = Bookmark(
        user_id=current_user.id,
        session_id=session_id,
        offset_ms=form.offset_ms.data,
        note=(form.note.data or "").strip(),
    )
    db.session.add(bookmark)
    db.session.commit()
    record(
        "bookmark_added",
        session_id=session_id,
        detail={"offset_ms": bookmark.offset_ms, "note": bookmark.note},
    )
    flash(_("Bookmark saved."), "ok")
    return redirect(url_for("review.detail", session_id=session_id, _anchor="bookmarks"))


@blueprint.post("/<session_id>/bookmarks/<int:bookmark_id>/delete")
@allow(*EVIDENCE_READERS)
def delete_bookmark(session_id: str, bookmark_id: int) -> Response:
    visible_session(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    bookmark = db.session.get(Bookmark, bookmark_id)
    if bookmark is None or bookmark.user_id != current_user.id or bookmark.session_id != session_id:
        abort(404)
    db.session.delete(bookmark)
    db.session.commit()
    record("bookmark_removed", session_id=session_id, detail={"offset_ms": bookmark.offset_ms})
    return redirect(url_for("review.detail", session_id=session_id, _anchor="bookmarks"))
