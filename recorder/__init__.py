"""A room's recording pipeline: capture, segment encoding, and the session's lifecycle.

Imports ``hardware`` and ``evidence_store`` of the project, nothing else.
"""

from recorder.errors import RecorderError, RecorderStateError
from recorder.segment_encoder import EncodedSegment, SegmentEncoder
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from recorder.status import RecorderState, RecorderStatus

__all__ = [
    "EncodedSegment",
    "RecorderError",
    "RecorderSettings",
    "RecorderState",
    "RecorderStateError",
    "RecorderStatus",
    "SegmentEncoder",
    "SessionRecorder",
    "media_info",
]
