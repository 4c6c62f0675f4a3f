"""Errors of the hardware package. Every message is written for the person at the room terminal."""

from __future__ import annotations


class HardwareError(Exception):
    """A camera or microphone cannot be opened or stopped delivering."""
