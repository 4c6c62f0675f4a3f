"""A room's devices, built from its profile (``recorder.room.profile``) or the synthetic room."""

from __future__ import annotations

from dataclasses import dataclass

from evidence_store import UsageError
from hardware import (
    MONOTONIC,
    AlsaMicrophone,
    Camera,
    Clock,
    FileCamera,
    FileMicrophone,
    Microphone,
    PulseMicrophone,
    RtspCamera,
    SyntheticCamera,
    SyntheticMicrophone,
    V4L2Camera,
    with_credentials,
)
from recorder.room.profile import (
    AlsaMicrophoneSpec,
    CameraSpec,
    FileCameraSpec,
    FileMicrophoneSpec,
    MicrophoneSpec,
    PulseMicrophoneSpec,
    RoomProfile,
    RtspCameraSpec,
    SyntheticCameraSpec,
    SyntheticMicrophoneSpec,
    V4L2CameraSpec,
)
from recorder.settings import RecorderSettings


@dataclass(frozen=True)
class RoomDevices:
    """The cameras (main first, then the picture-in-picture) and the microphone."""

    cameras: tuple[Camera, ...]
    microphone: Microphone


def synthetic_room(
    settings: RecorderSettings, *, clock: Clock = MONOTONIC, marker_seconds: float | None = None
) -> RoomDevices:
    """Two synthetic cameras (main and picture-in-picture) and a synthetic microphone."""
    size = (settings.width, settings.height)
    return RoomDevices(
        cameras=(
            SyntheticCamera(
                *size,
                fps=settings.fps,
                name="synthetic-cam",
                clock=clock,
                marker_seconds=marker_seconds,
            ),
            SyntheticCamera(
                *size,
                fps=settings.fps,
                name="synthetic-cam-2",
                seed=1,
                clock=clock,
                marker_seconds=marker_seconds,
            ),
        ),
        microphone=SyntheticMicrophone(
            settings.sample_rate, settings.channels, clock=clock, marker_seconds=marker_seconds
        ),
    )


def room_devices(profile: RoomProfile, settings: RecorderSettings) -> RoomDevices:
    """The devices a profile names, not yet opened (opening is the recorder's ``start``)."""
    cameras = [build_camera(profile.camera, settings, default_name="synthetic-cam")]
    if profile.pip_camera is not None:
        pip = build_camera(profile.pip_camera, settings, default_name="synthetic-cam-2")
        if pip.name == cameras[0].name:
            raise UsageError(f"both cameras are called {pip.name!r}: give one a name")
        cameras.append(pip)
    return RoomDevices(
        cameras=tuple(cameras), microphone=build_microphone(profile.microphone, settings)
    )


def build_camera(
    spec: CameraSpec, settings: RecorderSettings, *, default_name: str = "synthetic-cam"
) -> Camera:
    if isinstance(spec, V4L2CameraSpec):
        return V4L2Camera(
            spec.device,
            width=spec.width or settings.width,
            height=spec.height or settings.height,
            fps=spec.fps or settings.fps,
            pixel_format=spec.pixel_format,
            name=spec.name,
        )
    if isinstance(spec, RtspCameraSpec):
        url = spec.url
        if spec.credentials_file is not None:
            user, password = _credentials(spec)
            url = with_credentials(url, user, password)
        return RtspCamera(
            url,
            name=spec.name,
            latency_ms=spec.latency_ms,
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
        )
    if isinstance(spec, FileCameraSpec):
        return FileCamera(spec.path, name=spec.name, loop=spec.loop)
    assert isinstance(spec, SyntheticCameraSpec)
    return SyntheticCamera(
        settings.width,
        settings.height,
        fps=settings.fps,
        name=spec.name or default_name,
        seed=spec.seed,
    )


def build_microphone(spec: MicrophoneSpec, settings: RecorderSettings) -> Microphone:
    rate, channels = settings.sample_rate, settings.channels
    if isinstance(spec, AlsaMicrophoneSpec):
        return AlsaMicrophone(spec.device, sample_rate=rate, channels=channels, name=spec.name)
    if isinstance(spec, PulseMicrophoneSpec):
        return PulseMicrophone(spec.device, sample_rate=rate, channels=channels, name=spec.name)
    if isinstance(spec, FileMicrophoneSpec):
        return FileMicrophone(spec.path, rate, channels, name=spec.name, loop=spec.loop)
    assert isinstance(spec, SyntheticMicrophoneSpec)
    return SyntheticMicrophone(rate, channels, name=spec.name or "synthetic-mic", seed=spec.seed)


def _credentials(spec: RtspCameraSpec) -> tuple[str, str]:
    assert spec.credentials_file is not None
    try:
        text = spec.credentials_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(
            f"cannot read the camera credentials {spec.credentials_file}: {exc.strerror}"
        ) from exc
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise UsageError(f"{spec.credentials_file} must hold USER:PASSWORD on one line")
    return user, password
