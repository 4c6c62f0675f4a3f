"""The presenter screen (the clerk's laptop) and the audience screen (the court's display).

The presenter sends commands; each one becomes the next version of the hearing's
presentation state (``web.courtroom.presentation``) and a custody event. The audience screen shows
only that state and follows it live through server-sent events.

Verify before showing: presenting a clip first re-checks it against its seal
(``evidence_store.clips.verify_clip``, which hashes only the clip's segments). The presenter
always sees the result. A clip that fails is not played: the audience screen shows a neutral
notice that the exhibit could not be verified, never the media, so nothing unverified is
shown as if it were authentic. The check is repeated for every segment as it is sent
(``web.clips.segments``): a segment altered after the clip was presented is refused, and
the screens switch to the same notice.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from evidence_store import UsageError
from web.access import allow
from web.audit import record
from web.clips import clip_player, verify
from web.courtroom import commands, presentation
from web.diagrams import StoreCorrupted, diagram_payload, exhibit_store
from web.extensions import db
from web.models import Clip, Diagram, Hearing, HearingExhibit
from web.roles import PRESENTERS
from web.visibility import visible_hearing

blueprint = Blueprint("presentation", __name__)
ACTIONS = (
    "show",
    "play",
    "pause",
    "seek",
    "zoom",
    "callout",
    "clear-callouts",
    "blank",
    "unblank",
    "withdraw",
)


def _exhibit(hearing: Hearing, exhibit_id: Any) -> HearingExhibit:
    for entry in hearing.exhibits:
        if entry.id == exhibit_id:
            return entry
    raise commands.CommandError(_("That exhibit is not on this hearing's list."))


def _shown(entry: HearingExhibit, now: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What the audience gets for this exhibit, and the clip's verification (if a clip).
    ``key`` differs each time it is presented, so presenting it again starts it afresh."""
    base = {"id": entry.id, "key": f"{entry.id}:{now}", "number": entry.exhibit_number}
    if entry.clip is None:
        if entry.diagram is None:
            raise commands.CommandError(_("That exhibit is not on this hearing's list."))
        shown = {**base, "kind": "diagram", "title": entry.diagram.title}
        try:
            payload = _checked_diagram(entry.diagram)
        except StoreCorrupted:  # its original no longer matches its hash
            reason = _(
                "the stored diagram does not match its recorded SHA-256 (altered or replaced)"
            )
        except OSError:
            reason = _("the stored original is missing or cannot be read")
        else:
            return {**shown, "diagram": payload}, None
        notice = commands.not_verified_notice(entry.exhibit_number)
        failure = {
            "intact": False,
            "result": "tampered",
            "location": f"exhibits/{entry.diagram.sha256}",
            "reason": reason,
            "diagram": entry.diagram.id,
        }
        return {**base, "kind": "unverified", "notice": notice}, failure
    base["clip_id"] = entry.clip.id  # so a segment refused later finds the screens showing it
    outcome = verify(entry.clip)
    if not outcome["intact"]:
        notice = commands.not_verified_notice(entry.exhibit_number)
        return {**base, "kind": "unverified", "notice": notice}, outcome
    player = clip_player(entry.clip)
    return {**base, "kind": "clip", "title": entry.clip.title, "clip": player}, outcome


def _checked_diagram(diagram: Diagram) -> dict[str, Any]:
    """The diagram's payload, once its stored original has been checked against its SHA-256
    (a drawn diagram's is read, and so checked, to draw it; an uploaded one's pages are made
    from it, so it is read here). StoreCorrupted, or OSError if it is gone, otherwise."""
    if diagram.kind != "drawn":
        exhibit_store().read_original(diagram.sha256)
    return diagram_payload(diagram)


def _session_of(exhibit: dict[str, Any] | None) -> str | None:
    """The recording an exhibit shows (or showed), so its custody events land in that
    session's history; found from the clip, which outlives the hearing's list entry."""
    clip_id = (exhibit or {}).get("clip_id")
    if not isinstance(clip_id, int):
        return None
    clip = db.session.get(Clip, clip_id)
    return clip.session_id if clip else None


def _still_listed(exhibit_id: int) -> bool:
    """Read afresh: the entry may have been taken off the list while its clip was verified."""
    found = db.session.execute(select(HearingExhibit.id).where(HearingExhibit.id == exhibit_id))
    return found.first() is not None


@blueprint.get("/<int:hearing_id>/present")
@allow(*PRESENTERS)
def presenter(hearing_id: int) -> str:
    hearing = visible_hearing(hearing_id)
    version, state = presentation.current(hearing.id)
    record("presenter_opened", detail={"hearing_id": hearing.id})
    config = {
        **_urls(hearing),
        "csrf": generate_csrf(),
        "version": version,
        "server_time": presentation.now_ms(),
        "state": state,
        "text": _presenter_text(),
    }
    return render_template("courtroom/presenter.html", hearing=hearing, config=config)


@blueprint.get("/<int:hearing_id>/audience")
@allow(*PRESENTERS)
def audience(hearing_id: int) -> str:
    hearing = visible_hearing(hearing_id)
    version, state = presentation.current(hearing.id)
    record("audience_opened", detail={"hearing_id": hearing.id})
    config = {
        "events": url_for("courtroom.presentation.events", hearing_id=hearing.id),
        "version": version,
        "server_time": presentation.now_ms(),
        "state": state,
    }
    return render_template("courtroom/audience.html", config=config)


@blueprint.get("/<int:hearing_id>/state")
@allow(*PRESENTERS)
def state(hearing_id: int) -> Response:
    hearing = visible_hearing(hearing_id)
    version, current = presentation.current(hearing.id)
    return jsonify(version=version, server_time=presentation.now_ms(), state=current)


@blueprint.get("/<int:hearing_id>/events")
@allow(*PRESENTERS)
def events(hearing_id: int) -> Response:
    hearing = visible_hearing(hearing_id)
    since = presentation.last_seen_version(
        request.headers.get("Last-Event-ID"), request.args.get("since")
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    release = presentation.stream_slot(app, current_user.id, current_user.unit.code)
    if release is None:  # no slot left (here, this user's or unit's): it tries again shortly
        busy = Response(_("Too many live screens; try again shortly."), status=503)
        busy.headers["Retry-After"] = "2"
        return busy
    body = presentation.stream(app, db.engine, hearing.id, since)
    response = Response(body, mimetype="text/event-stream")
    response.call_on_close(release)  # called by the server however the stream ends
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy in front must not hold events back
    return response


@blueprint.post("/<int:hearing_id>/present/<action>")
@allow(*PRESENTERS)
def command(hearing_id: int, action: str) -> tuple[Response, int]:
    hearing = visible_hearing(hearing_id)
    if action not in ACTIONS:
        return jsonify(error=_("Unknown command.")), 404
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = {}
    now = presentation.now_ms()
    verification: dict[str, Any] | None = None
    try:
        if action == "show":
            entry = _exhibit(hearing, body.get("exhibit_id"))
            shown, verification = _shown(entry, now)
            edit = commands.present(shown, play=body.get("play") is not False, now=now)
        else:
            edit = _edit(action, body, now)
        result = presentation.change(hearing.id, edit)
    except UsageError as problem:
        return jsonify(error=str(problem), verification=verification), 400
    _custody(hearing, action, verification, result)
    if action == "show" and not _still_listed(entry.id):
        # Taken off the list while it was being verified: the removal's own withdraw ran
        # before this landed, so withdraw it here (only this showing of it).
        key = result.state["exhibit"]["key"]
        result = presentation.change(hearing.id, commands.withdraw(now, key=key))
        if result.changed:
            _custody(hearing, "withdraw", None, result)
        return jsonify(error=_("That exhibit is not on this hearing's list.")), 400
    return (
        jsonify(
            version=result.version,
            server_time=presentation.now_ms(),
            state=result.state,
            verification=verification,
        ),
        200,
    )


def _edit(action: str, body: dict[str, Any], now: int) -> commands.Edit:
    if action in ("play", "pause", "seek"):
        return commands.playback(action, body.get("position"), now)
    if action == "zoom":
        return commands.zoom(body.get("box"))
    if action == "callout":
        return commands.callout(body.get("x"), body.get("y"), body.get("text"))
    if action == "clear-callouts":
        return commands.clear_callouts()
    if action in ("blank", "unblank"):
        return commands.blank(action == "blank", now)
    return commands.withdraw(now)


def _custody(
    hearing: Hearing,
    action: str,
    verification: dict[str, Any] | None,
    result: presentation.Change,
) -> None:
    """Every presentation is a custody event; a clip's events name its session. A withdraw
    names what left the screen; a show that replaces an exhibit also ends the one before."""
    state = result.state
    exhibit = state.get("exhibit") or {}
    before = result.previous.get("exhibit") or {}
    if action == "withdraw":
        exhibit = before
    detail: dict[str, Any] = {
        "hearing_id": hearing.id,
        "exhibit_id": exhibit.get("id"),
        "exhibit_number": exhibit.get("number"),
    }
    name = custody_action(action)
    if action == "show":
        if before and before.get("key") != exhibit.get("key"):
            _replaced(hearing, before, exhibit)
        detail["kind"] = exhibit.get("kind")
        if verification is not None:
            detail["verification"] = {k: v for k, v in verification.items() if k != "signer"}
            if not verification["intact"]:
                name = "present_refused"  # the notice went up, not the clip
        if exhibit.get("kind") == "diagram":
            detail["sha256"] = (exhibit.get("diagram") or {}).get("sha256")
    elif action in ("play", "pause", "seek", "blank"):
        playback = state["playback"]
        detail["playing"] = playback["playing"]
        detail["position_ms"] = round(playback["position"] * 1000)
    elif action == "zoom":
        detail["zoom"] = _fractions(state["zoom"])
    elif action == "callout":
        callout = state["callouts"][-1]
        detail["callout"] = {"text": callout["text"], **_fractions(callout, ("px", "py"))}
    record(name, session_id=_session_of(exhibit), detail=detail)


def custody_action(action: str) -> str:
    """The custody log's name for a presenter's command."""
    return "present" if action == "show" else f"present_{action.replace('-', '_')}"


def _replaced(hearing: Hearing, before: dict[str, Any], after: dict[str, Any]) -> None:
    """The end of an exhibit's showing when another one takes its place."""
    record(
        "present_withdraw",
        session_id=_session_of(before),
        detail={
            "hearing_id": hearing.id,
            "exhibit_id": before.get("id"),
            "exhibit_number": before.get("number"),
            "replaced_by": after.get("id"),
        },
    )


def _fractions(
    values: dict[str, Any] | None, keys: tuple[str, ...] = ("x", "y", "w", "h")
) -> dict[str, str]:
    """Fractions as decimal text: the custody log takes no floating-point numbers."""
    return {key: f"{values[key]:.4f}" for key in keys} if values else {}


def _urls(hearing: Hearing) -> dict[str, str]:
    return {
        "command": url_for(
            "courtroom.presentation.command", hearing_id=hearing.id, action="ACTION"
        ),
        "audience": url_for("courtroom.presentation.audience", hearing_id=hearing.id),
        "events": url_for("courtroom.presentation.events", hearing_id=hearing.id),
    }


def _presenter_text() -> dict[str, str]:
    """The presenter script's messages, translated here (the script has no catalogue)."""
    return {
        "intact": _("INTACT"),
        "not_verified": _("NOT VERIFIED — not shown on the court screen"),
        "signer": _("Signer"),
        "segments": _("Segments"),
        "seal": _("Seal (chain head)"),
        "failure": _("First failure"),
        "blanked": _("The court screen is blank."),
        "showing": _("On the court screen:"),
        "nothing": _("Nothing is shown."),
        "callout_prompt": _("Callout text"),
        "error": _("The command failed:"),
        "popup_blocked": _("The browser blocked the new window; allow pop-ups for the console."),
    }
