"""Checks before a session starts, so a session that cannot be recorded writes nothing.

The law asks for no session without working equipment; the evidence asks for no session that
cannot be completed. So the disk must hold the session (``recorder.disk_guard``) and every
required device must open, before the session's first link is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from hardware import Camera, HardwareError, Microphone, RtspStream
from recorder.disk_guard import DiskGuard
from recorder.errors import RecorderError


class DeviceMissingError(RecorderError):
    """A required camera or microphone is missing or unusable; nothing was written."""


def check_devices(*devices: Camera | Microphone) -> None:
    """Open and close each device: a missing or broken one refuses the session."""
    for device in devices:
        try:
            device.open()
        except HardwareError as exc:
            raise DeviceMissingError(
                f"required device {device.name} is missing or unusable: {exc}"
            ) from exc
        with contextlib.suppress(HardwareError):  # it opened: that is what we needed to know
            device.close()


def preflight_streams(streams: Sequence[RtspStream]) -> None:
    """Connect to each passthrough camera once: a camera that does not answer, or sends
    nothing passthrough can record, refuses the session."""
    for stream in streams:
        try:
            stream.connect()
        except HardwareError as exc:
            raise DeviceMissingError(
                f"required device {stream.name} is missing or unusable: {exc}"
            ) from exc
        finally:
            stream.close()


def preflight(guard: DiskGuard, seconds: float, *devices: Camera | Microphone) -> None:
    """Refuse, before anything is written, a session of ``seconds`` that the disk cannot hold
    (InsufficientSpaceError) or whose devices do not open (DeviceMissingError). Then hold
    the disk reserve."""
    check_devices(*devices)
    guard.prepare(seconds)
