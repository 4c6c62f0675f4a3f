"""The wall of rooms. The page is rendered whole on the server (it works without JavaScript)
and then refreshes itself from ``/rooms/wall/health`` every few seconds.

Administrators look after the rooms but never read evidence: for them the wall shows health
only (no case number, no session, no sound level, no picture). Opening the page is a custody
event; its refreshes are not (they would add a row every few seconds and tell nothing new).

Supervisors see each recording room's live picture (``/rooms/wall/<room>/preview.jpg``,
``web.wall.thumbnails``: a scaled copy of the recorder's preview, asked of the recorder at
most once a second however many supervisors watch).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from recorder.control import RecorderClient
from web.access import allow
from web.audit import record
from web.extensions import db
from web.models import Room
from web.roles import Role
from web.room_health import ROOM_HEALTH_ROLES, RoomHealth, recorder_client, rooms_health
from web.visibility import visible_units
from web.wall.attention import OPEN_ALARM, reasons, rooms_with_open_alarms, shown_figures
from web.wall.thumbnails import (
    NO_CREDENTIAL,
    NOT_RECORDING,
    STATUS_TIMEOUT,
    UNREACHABLE,
    FirstViews,
    ThumbnailCache,
)

blueprint = Blueprint("wall", __name__, url_prefix="/rooms/wall")

REFRESH_SECONDS = 5
PICTURE_SECONDS = 3  # how often a tile asks for its picture (the server asks at most 1/s)
# Who may see the rooms' live pictures: the supervisors; administrators see no evidence.
PICTURE_ROLES = (Role.SUPERVISOR,)
CACHE_KEY = "sealroom.wall_thumbnails"
VIEWS_KEY = "sealroom.wall_live_views"
NO_PICTURE_REASONS = {
    NOT_RECORDING: _l("No picture while the room is not recording."),
    UNREACHABLE: _l("No picture: the room's recorder does not answer."),
    NO_CREDENTIAL: _l("No picture: the console has no credential for the room's recorder."),
}
NO_PICTURE_YET = _l("No picture yet.")
# What belongs to a recording rather than to a room's health: kept from administrators.
EVIDENCE_FIELDS = ("session_id", "case_number", "last_session_id")


def shown(room: RoomHealth, *, reads_evidence: bool, open_alarm: bool = False) -> dict[str, Any]:
    """One room as the wall shows it to this viewer: its figures as text, and each reason
    it needs attention in words (an open integrity alarm on one of its sessions too)."""
    document = room.as_dict()
    codes = [*room.attention, *([OPEN_ALARM] if open_alarm else [])]
    document.update(shown_figures(room))
    document["attention"] = reasons(room, codes)
    document["needs_attention"] = bool(codes)
    if room.problem:  # the client's English details stay in the console's log
        current_app.logger.warning("wall: room %s: %s", room.code, room.problem)
        document["problem"] = _("its recorder could not be asked")
    if not reads_evidence:
        for field in EVIDENCE_FIELDS:
            document[field] = None
        for device in document["devices"]:
            device["audio_level_dbfs"] = None
    return document


def _rooms() -> list[dict[str, Any]]:
    reads_evidence = current_user.role_enum is not Role.ADMIN
    rooms = rooms_health(current_user)
    alarmed = rooms_with_open_alarms(rooms)
    return [
        shown(room, reads_evidence=reads_evidence, open_alarm=room.code in alarmed)
        for room in rooms
    ]


@blueprint.get("/")
@allow(*ROOM_HEALTH_ROLES)
def overview() -> str:
    rooms = _rooms()
    attention = sum(1 for room in rooms if room["needs_attention"])
    record("rooms_wall_viewed", detail={"rooms": len(rooms), "need_attention": attention})
    return render_template(
        "wall/wall.html",
        rooms=rooms,
        attention=attention,
        refresh_seconds=REFRESH_SECONDS,
        picture_seconds=PICTURE_SECONDS,
        reads_evidence=current_user.role_enum is not Role.ADMIN,
        sees_pictures=current_user.role_enum in PICTURE_ROLES,
        no_picture_reasons={code: str(text) for code, text in NO_PICTURE_REASONS.items()},
    )


@blueprint.get("/health")
@allow(*ROOM_HEALTH_ROLES)
def health() -> ResponseReturnValue:
    response = jsonify(rooms=_rooms())
    response.headers["Cache-Control"] = "no-store"
    return response


def _thumbnails() -> ThumbnailCache:
    cache: ThumbnailCache = current_app.extensions.setdefault(CACHE_KEY, ThumbnailCache())
    return cache


@blueprint.get("/<code>/preview.jpg")
@allow(*PICTURE_ROLES)
def preview(code: str) -> ResponseReturnValue:
    """A room's live picture for its tile; a room of another unit is refused (403)."""
    room: Room | None = db.session.scalar(select(Room).where(Room.code == code))
    if room is None:
        abort(404)
    if room.unit.code not in visible_units(current_user):
        abort(403)

    def client() -> RecorderClient:  # built here: the room's token is the console's
        made = recorder_client(room)
        made.timeout = STATUS_TIMEOUT  # one slow room must not hold up the wall
        return made

    thumbnail = _thumbnails().get(room.code, client)
    if thumbnail.jpeg is None:
        reason = NO_PICTURE_REASONS.get(thumbnail.problem or "", NO_PICTURE_YET)
        return Response(
            str(reason),
            status=503,
            mimetype="text/plain",
            headers={"Cache-Control": "no-store", "Retry-After": str(PICTURE_SECONDS)},
        )
    _viewed_live(room.code, thumbnail.session_id)
    return Response(thumbnail.jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


def _viewed_live(room: str, session_id: str | None) -> None:
    """Custody: who saw which recording live. Once per viewer, login and recording, not per
    frame: a tile asks every few seconds, and a row per picture would bury the log in
    thousands of rows that tell nothing the first one did not. Kept on the server (a cookie
    session would lose keys to the tiles' concurrent requests)."""
    views: FirstViews = current_app.extensions.setdefault(VIEWS_KEY, FirstViews())
    if views.first((current_user.login_id, room, session_id)):
        record("room_live_viewed", session_id=session_id, detail={"room": room})
