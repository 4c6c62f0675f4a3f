"""One room's recorder as a long-running service behind an authenticated control API."""

from recorder.service.api import create_app, read_token
from recorder.service.room import RoomService, registered_unit

__all__ = ["RoomService", "create_app", "read_token", "registered_unit"]
