"""A room's recording pipeline: capture, segment encoding, and the session's lifecycle.

Imports ``hardware`` and ``evidence_store`` of the project, nothing else.
"""

from recorder.errors import RecorderError, RecorderStateError
from recorder.segment_encoder import EncodedSegment, SegmentEncoder
from recorder.session_recorder import RecorderState, RecorderStatus, SessionRecorder
from recorder.settings import RecorderSettings

__all__ = [
    "EncodedSegment",
    "RecorderError",
    "RecorderSettings",
    "RecorderState",
    "RecorderStateError",
    "RecorderStatus",
    "SegmentEncoder",
    "SessionRecorder",
]
