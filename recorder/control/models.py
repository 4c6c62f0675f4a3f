"""The recorder service's control API on the wire: requests, results and errors.

Shared by the service and ``recorder.control.client``, so both sides agree by construction. Light on
purpose (pydantic only): the web console imports it through the client.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evidence_store import Name, PresentPerson, Text

ServiceState = Literal["idle", "recording", "paused"]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class StartRequest(_Wire):
    """``POST /sessions``: who and what the session is about."""

    case_number: Name
    room: Name | None = Field(default=None, description="display name; default: the room id")
    unit: Name | None = None
    accused: list[Name] = Field(default_factory=list)
    investigators: list[Name] = Field(default_factory=list)
    others_present: list[PresentPerson] = Field(default_factory=list)


class ReasonRequest(_Wire):
    """``POST /session/pause|resume|stop``: the reason is mandatory (it goes into the chain)."""

    reason: Text


class DeviceHealth(_Wire):
    """One device's live health (see ``recorder.health``)."""

    name: str
    kind: Literal["camera", "microphone"]
    lost: bool  # reported lost in the chain and not yet restored
    frames_received: int
    frames_dropped: int
    last_frame_age_seconds: float | None
    audio_level_dbfs: float | None  # microphones only
    error: str | None
    clock_corrections: int = 0  # the microphone's clock corrections (each one in the chain)


class SessionOutcome(_Wire):
    """How a session ended: by a stop request, by the recorder itself, or by recovery."""

    session_id: str
    outcome: Literal["stopped", "interrupted"]
    reason: str
    segments: int
    duration_seconds: float
    head: str


class RecoveredSessionView(_Wire):
    session_id: str
    reason: str


class RecorderStatusView(_Wire):
    """``GET /status``: what the room's recorder is doing, as a person must see it."""

    room: str
    unit: str | None = None  # the unit the room is registered to: its sessions are filed there
    state: ServiceState
    session_id: str | None = None
    case_number: str | None = None
    started_at: str | None = None  # UTC
    elapsed_seconds: float | None = None  # wall clock since the start, pauses included
    # Since the last segment was sealed (or the session started, before the first): a room
    # whose recording has stalled shows it here first. None while idle.
    last_seal_age_seconds: float | None = None
    # When the newest segment was sealed (UTC), this session or an earlier one since the
    # service started: what a wall shows as the room's last seal. None before any.
    last_sealed_at: str | None = None
    pause_reason: str | None = None  # while paused: the reason given for the pause
    media_seconds: float = 0.0  # recorded media, pauses excluded
    segments_sealed: int = 0
    frames_dropped: int = 0
    frames_filled: int = 0
    silence_filled_seconds: float = 0.0
    devices: list[DeviceHealth] = Field(default_factory=list)
    alarm: str | None = None
    error: str | None = None
    free_bytes: int | None = None
    disk_total_bytes: int | None = None
    backlog: dict[str, Any] | None = None  # the spool's (``evidence_store.upload.Backlog``)
    last_session: SessionOutcome | None = None
    recovered: list[RecoveredSessionView] = Field(
        default_factory=list,
        description="sessions found unfinished when the service started, sealed as interrupted",
    )


class AudioLevel(_Wire):
    """``GET /audio-level``: the microphone's RMS level over the last ~0.3 s, in dBFS, and
    the age of its newest sound; nulls while the room is not recording."""

    device: str | None
    dbfs: float | None
    age_seconds: float | None


class ErrorBody(_Wire):
    code: str
    message: str


class ErrorResponse(_Wire):
    error: ErrorBody
