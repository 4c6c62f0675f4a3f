"""A room recorder's control API on the wire, and the client the console drives it with.

Light on purpose: the console imports it, and must never load ``av``, ``cv2`` or ``hardware``."""

from recorder.control.client import (
    RecorderAuthError,
    RecorderClient,
    RecorderClientError,
    RecorderIdentity,
    RecorderIdentityError,
    RecorderUnreachableError,
    is_loopback,
)
from recorder.control.models import (
    AudioLevel,
    DeviceHealth,
    ErrorBody,
    ErrorResponse,
    ReasonRequest,
    RecorderStatusView,
    RecoveredSessionView,
    ServiceState,
    SessionOutcome,
    StartRequest,
)

__all__ = [
    "AudioLevel",
    "DeviceHealth",
    "ErrorBody",
    "ErrorResponse",
    "ReasonRequest",
    "RecorderAuthError",
    "RecorderClient",
    "RecorderClientError",
    "RecorderIdentity",
    "RecorderIdentityError",
    "RecorderStatusView",
    "RecorderUnreachableError",
    "RecoveredSessionView",
    "ServiceState",
    "SessionOutcome",
    "StartRequest",
    "is_loopback",
]
