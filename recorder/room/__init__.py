"""Room profiles (``[rooms.<name>]``) and the devices they name."""

from recorder.room.devices import RoomDevices, room_devices, synthetic_room
from recorder.room.profile import DEFAULT_TIMEZONE, PictureLayout, RoomProfile

__all__ = [
    "DEFAULT_TIMEZONE",
    "PictureLayout",
    "RoomDevices",
    "RoomProfile",
    "room_devices",
    "synthetic_room",
]
