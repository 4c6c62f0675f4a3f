"""``POST /api/catalog/events``: a room appliance reports one step of one of its sessions.

Only a room signed in with its own credential gets here (``web.access.rooms``). What it
reports is checked before the catalog changes: a well-formed event (422 otherwise), of a
session of the room's own unit (409: a room cannot file a session under another unit), that
does not contradict the catalog (409: another room's session, other metadata). Refusals
change nothing; the appliance's outbox sets them aside for a person. Answers are JSON.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from pydantic import ValidationError
from werkzeug.wrappers import Response

from evidence_store import first_error
from evidence_store.index import CatalogConflict, CatalogEvent
from web.access import rooms
from web.evidence import session_index
from web.extensions import csrf
from web.room_credential import signed_in_room

blueprint = Blueprint("catalog", __name__, url_prefix="/api/catalog")


def _refused(status: int, reason: str) -> tuple[Response, int]:
    room = signed_in_room()
    current_app.logger.warning("catalog: room %s refused (%d): %s", room.code, status, reason)
    return jsonify({"error": reason}), status


@blueprint.post("/events")
@rooms
@csrf.exempt  # no browser and no cookie: the room's credential is in the request itself
def ingest() -> tuple[Response, int]:
    room = signed_in_room()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refused(400, "the body is not a JSON object")
    try:
        event = CatalogEvent.model_validate(body)
    except ValidationError as exc:
        return _refused(422, f"not a catalog event: {first_error(exc)}")
    unit = event.metadata.unit
    if unit is not None and unit != room.unit.code:
        return _refused(409, f"room {room.code} records for unit {room.unit.code}, not {unit}")
    try:
        changed = session_index().record(event, room=room.code)
    except CatalogConflict as exc:
        return _refused(409, str(exc))
    return jsonify({"session_id": event.session_id, "changed": changed}), 200
