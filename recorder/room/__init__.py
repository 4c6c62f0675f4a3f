"""Room profiles (``[rooms.<name>]``), the devices they name, and the room's lock."""

from recorder.room.devices import RoomDevices, read_credentials, room_devices, synthetic_room
from recorder.room.lock import RoomBusyError, RoomLock, room_file
from recorder.room.profile import DEFAULT_TIMEZONE, PictureLayout, RoomProfile

__all__ = [
    "DEFAULT_TIMEZONE",
    "PictureLayout",
    "RoomBusyError",
    "RoomDevices",
    "RoomLock",
    "RoomProfile",
    "read_credentials",
    "room_devices",
    "room_file",
    "synthetic_room",
]
