"""Passthrough recording: each IP camera's stream recorded as it arrives (one track per
camera, its packets remuxed, never decoded), and the room's sound on the session clock."""

from recorder.passthrough.recorder import (
    SOUND_TRACK,
    PassthroughRecorder,
    camera_track_id,
    passthrough_media,
)
from recorder.passthrough.sidecar import read_start, start_file

__all__ = [
    "SOUND_TRACK",
    "PassthroughRecorder",
    "camera_track_id",
    "passthrough_media",
    "read_start",
    "start_file",
]
