"""The recorder's configuration: one frozen, validated model (the ``[recorder]`` section)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evidence_store import MediaInfo

X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"]


class RecorderServiceSettings(BaseModel):
    """The room's recorder service (``sealroom recorder serve``): the ``[recorder.service]``
    section. The control token is a secret: it is named by a file, never written here.

    Across a network the control API speaks TLS only, with the room's certificate from the
    installation's CA (``sealroom ca room``): without one the service listens on the
    loopback interface alone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", description="address the control API listens on")
    port: int = Field(default=8750, ge=0, le=65535, description="its port (0: any free port)")
    token_file: Path | None = Field(
        default=None,
        description=(
            "file holding the bearer token of the control API; default "
            "$SEALROOM_RECORDER_TOKEN. There is no default token: without one the "
            "service refuses to start"
        ),
    )
    tls_certificate_file: Path | None = Field(
        default=None,
        description="PEM certificate of this room from the installation's CA "
        "(`sealroom ca room`); with tls_key_file the control API speaks HTTPS",
    )
    tls_key_file: Path | None = Field(
        default=None, description="its private key (PEM, readable by the service only)"
    )

    @model_validator(mode="after")
    def _certificate_and_key_together(self) -> Self:
        if (self.tls_certificate_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_certificate_file and tls_key_file go together")
        return self


class RecorderSettings(BaseModel):
    """How a room records. Fixed for a whole session: it is sealed into the chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(
        default=1280,
        ge=64,
        le=3840,
        multiple_of=2,
        description="picture width in pixels (even: H.264 4:2:0 needs it)",
    )
    height: int = Field(
        default=720, ge=64, le=2160, multiple_of=2, description="picture height in pixels (even)"
    )
    fps: int = Field(default=30, ge=1, le=60, description="frames per second; the media clock")
    segment_seconds: int = Field(
        default=2,
        ge=1,
        le=4,
        description="length of each sealed segment; at most this much is unsealed at a crash",
    )
    video_preset: X264Preset = Field(
        default="veryfast",
        description="x264 speed/size trade-off; slower presets need more CPU per frame",
    )
    crf: int = Field(
        default=23, ge=0, le=51, description="x264 constant quality; lower is better and bigger"
    )
    encoder_threads: int = Field(default=0, ge=0, le=64, description="x264 threads; 0 = automatic")
    sample_rate: int = Field(
        default=48000, ge=8000, le=96000, description="audio samples per second"
    )
    channels: int = Field(default=1, ge=1, le=2, description="audio channels")
    audio_bitrate: int = Field(
        default=96_000, ge=32_000, le=320_000, description="AAC bits per second"
    )
    capture_buffer_seconds: float = Field(
        default=1.0,
        ge=0.2,
        le=5.0,
        description=(
            "video held between camera and encoder before new frames are dropped "
            "(memory: width * height * 3 bytes per frame)"
        ),
    )
    device_timeout_seconds: float = Field(
        default=0.5,
        ge=0.1,
        le=10.0,
        description=(
            "silence from a device after which it is reported lost and its gap "
            "filled (black picture or silence), so the other device's recording "
            "goes on"
        ),
    )
    max_session_seconds: int = Field(
        default=4 * 3600,
        ge=10,
        le=24 * 3600,
        description=(
            "the longest session the room records: a session does not start "
            "without the disk space for this much media"
        ),
    )
    estimated_video_bitrate: int = Field(
        default=4_000_000,
        ge=50_000,
        le=200_000_000,
        description=(
            "bits per second the encoded video is expected to need (CRF varies "
            "with the picture: err high); sizes the free-space checks"
        ),
    )
    disk_reserve_bytes: int = Field(
        default=16 * 1024**2,
        ge=64 * 1024,
        le=1024**3,
        description=(
            "space held in <data_dir>/.reserve while recording and released when "
            "the disk fills, so the session can still be stopped and sealed"
        ),
    )
    service: RecorderServiceSettings = Field(default_factory=RecorderServiceSettings)

    @property
    def frames_per_segment(self) -> int:
        return self.fps * self.segment_seconds

    @property
    def samples_per_segment(self) -> int:
        return self.sample_rate * self.segment_seconds


def media_info(settings: RecorderSettings) -> MediaInfo:
    """The session's recording format, as sealed into its first chain link."""
    return MediaInfo(
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
        sample_rate=settings.sample_rate,
        channels=settings.channels,
        segment_seconds=settings.segment_seconds,
    )
