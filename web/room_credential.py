"""A room appliance signing in to the console's catalog ingest: with that room's own
credential, never one shared by every room.

The credential is derived, not stored: ``HMAC-SHA256(room key, "sealroom-catalog-token" ||
room code)``, with the installation's room key, the one the recorders' tokens are derived
from (``web.recorders.room_key``: ``$SEALROOM_ROOM_KEY``, ``[console] room_key_file``, else
``<data_dir>/room-key``, generated once, 0600; every console replica holds the same). The
console checks a room's credential by deriving it again; each appliance holds only its own
(`sealroom catalog-credential ROOM`). It is a different label from the recorder's control
token, so the token the console sends a recorder is never one the recorder could present
here, nor the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import cast

from flask import g, request
from sqlalchemy import select

from evidence_store.index import ROOM_HEADER
from web.evidence import console_settings, data_dir
from web.extensions import db
from web.models import Room
from web.recorders import room_key

CATALOG_LABEL = b"sealroom-catalog-token\0"
ROOM_KEY = "sealroom_room"  # where the signed-in room is kept for the request (flask.g)


def catalog_token(key: bytes, room_code: str) -> str:
    """The credential with which room ``room_code`` (and it alone) reports to the catalog."""
    digest = hmac.new(key, CATALOG_LABEL + room_code.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_in_room() -> Room | None:
    """The room whose credential this request carries (kept for the view), or None."""
    code = request.headers.get(ROOM_HEADER, "").strip()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not code or scheme.lower() != "bearer" or not token or len(code) > 64:
        return None
    room = cast(Room | None, db.session.scalar(select(Room).where(Room.code == code)))
    expected = catalog_token(room_key(data_dir().root, console_settings()), code)
    # Compared even for an unknown room, so the answer's timing does not tell rooms apart.
    if not hmac.compare_digest(expected.encode(), token.strip().encode()) or room is None:
        return None
    setattr(g, ROOM_KEY, room)
    return room


def signed_in_room() -> Room:
    """The room ``sign_in_room`` admitted for this request."""
    room: Room = getattr(g, ROOM_KEY)
    return room
