"""One room's recorder as a long-running service behind an authenticated control API, and
its metrics."""

from recorder.service.api import create_app, read_token
from recorder.service.metrics import RoomCollector
from recorder.service.room import RoomService, RoomTotals, registered_unit

__all__ = [
    "RoomCollector",
    "RoomService",
    "RoomTotals",
    "create_app",
    "read_token",
    "registered_unit",
]
