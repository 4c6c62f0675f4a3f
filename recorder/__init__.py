"""A room's recording pipeline: capture, segment encoding, and the session's lifecycle.

Imports ``hardware`` and ``evidence_store`` of the project, nothing else. The names below are
loaded on first use: the console imports ``recorder.control`` (its only way in), which must
not drag ``av``, ``cv2`` and ``hardware`` into the console's process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recorder.doctor import recorder_checks
    from recorder.errors import RecorderError, RecorderStateError
    from recorder.media import EncodedSegment, SegmentEncoder
    from recorder.session_recorder import SessionRecorder
    from recorder.settings import RecorderSettings, media_info
    from recorder.status import RecorderState, RecorderStatus

_EXPORTS = {
    "EncodedSegment": "recorder.media",
    "RecorderError": "recorder.errors",
    "RecorderSettings": "recorder.settings",
    "RecorderState": "recorder.status",
    "RecorderStateError": "recorder.errors",
    "RecorderStatus": "recorder.status",
    "SegmentEncoder": "recorder.media",
    "SessionRecorder": "recorder.session_recorder",
    "media_info": "recorder.settings",
    "recorder_checks": "recorder.doctor",
}

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
    "recorder_checks",
]


def __getattr__(name: str) -> Any:
    """Load a public name on first use, so importing the package stays light."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'recorder' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
