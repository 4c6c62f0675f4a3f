"""A room's devices, built from its profile (``recorder.room.profile``) or the synthetic room.

A composite room's cameras are decoded (``hardware.Camera``); a passthrough room's are
connections read packet by packet (``hardware.RtspStream``). A microphone with a
``latency_ms`` has it taken off its timestamps, as an IP camera's is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from evidence_store import UsageError
from hardware import (
    MONOTONIC,
    AlsaMicrophone,
    AudioChunk,
    Camera,
    CameraSound,
    Clock,
    FileCamera,
    FileMicrophone,
    Microphone,
    PulseMicrophone,
    RtspCamera,
    RtspMicrophone,
    RtspStream,
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
    RtspMicrophoneSpec,
    SyntheticCameraSpec,
    SyntheticMicrophoneSpec,
    V4L2CameraSpec,
)
from recorder.settings import RecorderSettings


@dataclass(frozen=True)
class RoomDevices:
    """The cameras (main first, then the picture-in-picture) and the microphone.

    A passthrough room has ``streams`` (one per camera) instead of ``cameras``; when its
    microphone is one of its cameras' own, ``sound_from`` is that camera's index and the
    sound comes over the camera's one connection."""

    cameras: tuple[Camera, ...]
    microphone: Microphone
    streams: tuple[RtspStream, ...] = ()
    sound_from: int | None = None

    @property
    def passthrough(self) -> bool:
        return bool(self.streams)

    @property
    def names(self) -> list[str]:
        """The cameras' names, main first."""
        return [s.name for s in self.streams] or [c.name for c in self.cameras]


class DelayedMicrophone:
    """A microphone whose sound reaches us ``latency_ms`` after it was captured."""

    def __init__(self, microphone: Microphone, latency_ms: int) -> None:
        self._microphone = microphone
        self._latency_ns = latency_ms * 1_000_000

    @property
    def name(self) -> str:
        return self._microphone.name

    @property
    def sample_rate(self) -> int:
        return self._microphone.sample_rate

    @property
    def channels(self) -> int:
        return self._microphone.channels

    def open(self) -> None:
        self._microphone.open()

    def close(self) -> None:
        self._microphone.close()

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        chunk = self._microphone.read(timeout)
        if chunk is None:
            return None
        return replace(chunk, captured_ns=chunk.captured_ns - self._latency_ns)


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
    if profile.recording_mode == "passthrough":
        return passthrough_devices(profile, settings)
    microphone = build_microphone(profile.microphone, settings)
    shared = _shared_sound(profile, microphone, settings)
    cameras = [build_camera(profile.camera, settings, default_name="synthetic-cam", sound=shared)]
    if profile.pip_camera is not None:
        pip = build_camera(
            profile.pip_camera, settings, default_name="synthetic-cam-2", sound=shared
        )
        if pip.name == cameras[0].name:
            raise UsageError(f"both cameras are called {pip.name!r}: give one a name")
        cameras.append(pip)
    return RoomDevices(
        cameras=tuple(cameras), microphone=shared.microphone if shared else microphone
    )


@dataclass(frozen=True)
class _SharedSound:
    """The room's microphone is the sound of one of its cameras (by URL)."""

    url: str
    microphone: CameraSound


def _shared_sound(
    profile: RoomProfile, microphone: Microphone, settings: RecorderSettings
) -> _SharedSound | None:
    mic = profile.microphone
    if not isinstance(mic, RtspMicrophoneSpec):
        return None
    if not any(isinstance(c, RtspCameraSpec) and c.url == mic.url for c in profile.cameras):
        return None
    sound = CameraSound(microphone.name, settings.sample_rate, settings.channels)
    return _SharedSound(mic.url, sound)


def build_camera(
    spec: CameraSpec,
    settings: RecorderSettings,
    *,
    default_name: str = "synthetic-cam",
    sound: _SharedSound | None = None,
) -> Camera:
    """The camera ``spec`` names; an RTSP camera whose URL is the room microphone's also
    decodes its sound for it (``sound``), over its one connection."""
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
        url = _with_credentials(spec.url, spec.credentials_file)
        feed = sound.microphone.feed if sound is not None and sound.url == spec.url else None
        return RtspCamera(
            url,
            name=spec.name,
            latency_ms=spec.latency_ms,
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
            sound=feed,
            sound_format=(settings.sample_rate, settings.channels),
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


def passthrough_devices(profile: RoomProfile, settings: RecorderSettings) -> RoomDevices:
    """A passthrough room: a connection per camera, and the microphone (a camera's own
    sound travels over that camera's connection)."""
    streams: list[RtspStream] = []
    urls: list[str] = []
    for spec in profile.cameras:
        assert isinstance(spec, RtspCameraSpec)  # the profile checked it
        url = _with_credentials(spec.url, spec.credentials_file)
        stream = RtspStream(url, name=spec.name, latency_ms=spec.latency_ms)
        if any(stream.name == other.name for other in streams):
            raise UsageError(f"two cameras are called {stream.name!r}: give one a name")
        streams.append(stream)
        urls.append(spec.url)
    microphone = build_microphone(profile.microphone, settings)
    mic = profile.microphone
    sound_from = (
        urls.index(mic.url) if isinstance(mic, RtspMicrophoneSpec) and mic.url in urls else None
    )
    return RoomDevices(
        cameras=(), microphone=microphone, streams=tuple(streams), sound_from=sound_from
    )


def build_microphone(spec: MicrophoneSpec, settings: RecorderSettings) -> Microphone:
    """The microphone ``spec`` names, its ``latency_ms`` taken off its timestamps."""
    microphone = _microphone(spec, settings)
    if spec.latency_ms and not isinstance(spec, RtspMicrophoneSpec):
        return DelayedMicrophone(microphone, spec.latency_ms)
    return microphone


def _microphone(spec: MicrophoneSpec, settings: RecorderSettings) -> Microphone:
    rate, channels = settings.sample_rate, settings.channels
    if isinstance(spec, RtspMicrophoneSpec):
        return RtspMicrophone(
            _with_credentials(spec.url, spec.credentials_file),
            sample_rate=rate,
            channels=channels,
            name=spec.name,
            latency_ms=spec.latency_ms,
        )
    if isinstance(spec, AlsaMicrophoneSpec):
        return AlsaMicrophone(spec.device, sample_rate=rate, channels=channels, name=spec.name)
    if isinstance(spec, PulseMicrophoneSpec):
        return PulseMicrophone(spec.device, sample_rate=rate, channels=channels, name=spec.name)
    if isinstance(spec, FileMicrophoneSpec):
        return FileMicrophone(spec.path, rate, channels, name=spec.name, loop=spec.loop)
    assert isinstance(spec, SyntheticMicrophoneSpec)
    return SyntheticMicrophone(rate, channels, name=spec.name or "synthetic-mic", seed=spec.seed)


def _with_credentials(url: str, credentials_file: Path | None) -> str:
    """``url`` with the user and password of ``credentials_file`` (USER:PASSWORD) in it."""
    if credentials_file is None:
        return url
    return with_credentials(url, *read_credentials(credentials_file))


def read_credentials(credentials_file: Path) -> tuple[str, str]:
    """USER and PASSWORD from a file holding ``USER:PASSWORD`` on one line."""
    try:
        text = credentials_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(
            f"cannot read the camera credentials {credentials_file}: {exc.strerror}"
        ) from exc
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise UsageError(f"{credentials_file} must hold USER:PASSWORD on one line")
    return user, password
