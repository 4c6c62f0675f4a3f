"""Room profiles: the ``[rooms.<name>]`` sections of ``sealroom.toml``.

A profile names the room's cameras (a main one and an optional picture-in-picture one), its
microphone, the layout of the picture and the time zone of the burned-in clock. Each device
is a table with a ``kind``; unknown keys are refused, so a typo is an error, not a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evidence_store import Name

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the device's name in status and in the evidence chain (default: derived "
        "from kind and device)",
    )


class V4L2CameraSpec(_Spec):
    kind: Literal["v4l2"]
    device: str = Field(default="/dev/video0", description="the V4L2 node")
    width: int | None = Field(
        default=None, ge=64, le=3840, description="capture width (default: the room's)"
    )
    height: int | None = Field(
        default=None, ge=64, le=2160, description="capture height (default: the room's)"
    )
    fps: int | None = Field(
        default=None, ge=1, le=60, description="capture rate (default: the room's)"
    )
    pixel_format: Literal["MJPG", "YUYV"] = Field(
        default="MJPG", description="MJPG for HD over USB 2; YUYV for small sizes"
    )


class RtspCameraSpec(_Spec):
    kind: Literal["rtsp"]
    url: str = Field(description="rtsp://host[:port]/path, without user or password")
    credentials_file: Path | None = Field(
        default=None,
        description="a file holding USER:PASSWORD for the camera (secrets never go in the config)",
    )
    latency_ms: int = Field(
        default=0,
        ge=0,
        le=5000,
        description="the camera's capture-to-network delay, taken off its timestamps so its "
        "picture lines up with the room's microphone",
    )

    @field_validator("url")
    @classmethod
    def _no_secrets(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
            raise ValueError("must be an rtsp:// or rtsps:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("must not hold a user or password; use credentials_file")
        return url


class FileCameraSpec(_Spec):
    kind: Literal["file"]
    path: Path = Field(description="a video file, replayed in real time")
    loop: bool = Field(default=True, description="start again at the end")


class SyntheticCameraSpec(_Spec):
    kind: Literal["synthetic"]
    seed: int = Field(default=0, ge=0, description="varies the pattern")


class AlsaMicrophoneSpec(_Spec):
    kind: Literal["alsa"]
    device: str = Field(
        default="default", description="ALSA device: default, plughw:1,0, hw:CARD=USB,DEV=0 ..."
    )


class PulseMicrophoneSpec(_Spec):
    kind: Literal["pulse"]
    device: str = Field(
        default="default", description="PulseAudio/PipeWire source (pactl list short sources)"
    )


class FileMicrophoneSpec(_Spec):
    kind: Literal["file"]
    path: Path = Field(description="a sound or video file, replayed in real time")
    loop: bool = Field(default=True, description="start again at the end")


class SyntheticMicrophoneSpec(_Spec):
    kind: Literal["synthetic"]
    seed: int = Field(default=0, ge=0, description="varies the sound")


CameraSpec = Annotated[
    V4L2CameraSpec | RtspCameraSpec | FileCameraSpec | SyntheticCameraSpec,
    Field(discriminator="kind"),
]
MicrophoneSpec = Annotated[
    AlsaMicrophoneSpec | PulseMicrophoneSpec | FileMicrophoneSpec | SyntheticMicrophoneSpec,
    Field(discriminator="kind"),
]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class PictureLayout(BaseModel):
    """Where the picture-in-picture goes, and whether the caption is burned in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pip_corner: Corner = Field(
        default="top-right", description="corner of the second camera's picture"
    )
    pip_width: float = Field(
        default=0.3, ge=0.1, le=0.5, description="its width, as a fraction of the picture's"
    )
    margin: float = Field(
        default=0.02,
        ge=0.0,
        le=0.1,
        description="gap to the picture's edges, as a fraction of its width",
    )
    overlay: bool = Field(
        default=True, description="burn in date and time, room, case and elapsed time"
    )


class RoomProfile(BaseModel):
    """One room: ``[rooms."Phòng 1"]`` in ``sealroom.toml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    camera: CameraSpec = Field(description="the main camera")
    pip_camera: CameraSpec | None = Field(default=None, description="a second camera, shown small")
    microphone: MicrophoneSpec
    layout: PictureLayout = Field(default_factory=PictureLayout)
    timezone: str = Field(default=DEFAULT_TIMEZONE, description="IANA zone of the burned-in clock")
    unit: Name | None = Field(
        default=None,
        description="the unit (procuracy) the room is registered to: its sessions are filed "
        "under it, whatever a request names",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
        return zone

    @model_validator(mode="after")
    def _distinct_cameras(self) -> RoomProfile:
        if self.pip_camera is not None and self.pip_camera == self.camera:
            raise ValueError("camera and pip_camera are the same device")
        return self
