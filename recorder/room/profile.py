"""Room profiles: the ``[rooms.<name>]`` sections of ``sealroom.toml``.

A profile names the room's cameras (a main one, an optional picture-in-picture one, and in
passthrough any others), its microphone, how the room is recorded (``mode``), the layout of
the picture and the time zone of the clock. Each device is a table with a ``kind``; unknown
keys are refused, so a typo is an error, not a default.

Two modes: ``composite`` decodes every camera, composes one picture with a burned-in caption
and encodes it (USB and V4L2 cameras have no encoder of their own); ``passthrough`` records
each IP camera's stream as it arrives, one track per camera, and players draw the caption. A
room whose cameras are all IP cameras is recorded in passthrough unless it says otherwise.
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


def rtsp_url_without_secrets(url: str) -> str:
    """``url`` if it is an rtsp(s) URL with a host and no user or password in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
        raise ValueError("must be an rtsp:// or rtsps:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not hold a user or password; use credentials_file")
    return url


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
        return rtsp_url_without_secrets(url)


class FileCameraSpec(_Spec):
    kind: Literal["file"]
    path: Path = Field(description="a video file, replayed in real time")
    loop: bool = Field(default=True, description="start again at the end")


class SyntheticCameraSpec(_Spec):
    kind: Literal["synthetic"]
    seed: int = Field(default=0, ge=0, description="varies the pattern")


class _MicrophoneSpec(_Spec):
    latency_ms: int = Field(
        default=0,
        ge=0,
        le=5000,
        description="the microphone's capture-to-delivery delay, taken off its timestamps so "
        "that its sound lines up with the cameras",
    )


class AlsaMicrophoneSpec(_MicrophoneSpec):
    kind: Literal["alsa"]
    device: str = Field(
        default="default", description="ALSA device: default, plughw:1,0, hw:CARD=USB,DEV=0 ..."
    )


class PulseMicrophoneSpec(_MicrophoneSpec):
    kind: Literal["pulse"]
    device: str = Field(
        default="default", description="PulseAudio/PipeWire source (pactl list short sources)"
    )


class RtspMicrophoneSpec(_MicrophoneSpec):
    """A camera's own microphone: the sound of its RTSP stream."""

    kind: Literal["rtsp"]
    url: str = Field(description="the camera's rtsp:// URL, without user or password")
    credentials_file: Path | None = Field(
        default=None, description="a file holding USER:PASSWORD for the camera"
    )

    @field_validator("url")
    @classmethod
    def _no_secrets(cls, url: str) -> str:
        return rtsp_url_without_secrets(url)


class FileMicrophoneSpec(_MicrophoneSpec):
    kind: Literal["file"]
    path: Path = Field(description="a sound or video file, replayed in real time")
    loop: bool = Field(default=True, description="start again at the end")


class SyntheticMicrophoneSpec(_MicrophoneSpec):
    kind: Literal["synthetic"]
    seed: int = Field(default=0, ge=0, description="varies the sound")


CameraSpec = Annotated[
    V4L2CameraSpec | RtspCameraSpec | FileCameraSpec | SyntheticCameraSpec,
    Field(discriminator="kind"),
]
MicrophoneSpec = Annotated[
    AlsaMicrophoneSpec
    | PulseMicrophoneSpec
    | FileMicrophoneSpec
    | SyntheticMicrophoneSpec
    | RtspMicrophoneSpec,
    Field(discriminator="kind"),
]
Mode = Literal["composite", "passthrough"]
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
    more_cameras: list[CameraSpec] = Field(
        default_factory=list,
        max_length=30,
        description="further cameras (passthrough only: each is a track of its own)",
    )
    microphone: MicrophoneSpec
    mode: Mode | None = Field(
        default=None,
        description="composite or passthrough; default: passthrough when every camera is an "
        "IP camera (rtsp), composite otherwise",
    )
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

    @property
    def cameras(self) -> list[CameraSpec]:
        """Every camera: the main one first, then the picture-in-picture, then the others."""
        pip = [] if self.pip_camera is None else [self.pip_camera]
        return [self.camera, *pip, *self.more_cameras]

    @property
    def recording_mode(self) -> Mode:
        """The mode the room is recorded in (see the module docstring)."""
        if self.mode is not None:
            return self.mode
        ip_only = all(isinstance(c, RtspCameraSpec) for c in self.cameras)
        return "passthrough" if ip_only else "composite"

    @model_validator(mode="after")
    def _distinct_cameras(self) -> RoomProfile:
        cameras = self.cameras
        for i, camera in enumerate(cameras):
            if camera in cameras[:i]:
                raise ValueError("two cameras of the room are the same device")
        if self.recording_mode == "composite" and self.more_cameras:
            raise ValueError(
                "a composite room shows two cameras at most (camera and pip_camera); "
                'more_cameras needs mode = "passthrough"'
            )
        if self.recording_mode == "passthrough":
            other = next((c for c in cameras if not isinstance(c, RtspCameraSpec)), None)
            if other is not None:
                raise ValueError(
                    f"passthrough records IP cameras (kind rtsp); a {other.kind} camera has no "
                    "encoder of its own: record this room in composite mode"
                )
        return self
