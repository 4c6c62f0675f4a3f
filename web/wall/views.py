"""The wall of rooms. The page is rendered whole on the server (it works without JavaScript)
and then refreshes itself from ``/rooms/wall/health`` every few seconds.

Administrators look after the rooms but never read evidence: for them the wall shows health
only (no case number, no session, no sound level). Opening the page is a custody event; its
refreshes are not (they would add a row every few seconds and tell nothing new).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from web.access import allow
from web.audit import record
from web.roles import Role
from web.room_health import ROOM_HEALTH_ROLES, RoomHealth, rooms_health

blueprint = Blueprint("wall", __name__, url_prefix="/rooms/wall")

REFRESH_SECONDS = 5
# What belongs to a recording rather than to a room's health: kept from administrators.
EVIDENCE_FIELDS = ("session_id", "case_number", "last_session_id")


def shown(room: RoomHealth, *, reads_evidence: bool) -> dict[str, Any]:
    """One room as the wall shows it to this viewer."""
    document = room.as_dict()
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
    return [shown(room, reads_evidence=reads_evidence) for room in rooms_health(current_user)]


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
        reads_evidence=current_user.role_enum is not Role.ADMIN,
    )


@blueprint.get("/health")
@allow(*ROOM_HEALTH_ROLES)
def health() -> ResponseReturnValue:
    response = jsonify(rooms=_rooms())
    response.headers["Cache-Control"] = "no-store"
    return response
