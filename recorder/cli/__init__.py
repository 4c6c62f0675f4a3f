"""The recorder's commands: ``record``, ``devices``, ``recover`` and ``recorder serve``."""

from recorder.cli import devices, record, recover, serve
from recorder.cli.context import ROOMS_KEY, SETTINGS_KEY

COMMANDS = [*record.COMMANDS, *devices.COMMANDS, *recover.COMMANDS, *serve.COMMANDS]

__all__ = ["COMMANDS", "ROOMS_KEY", "SETTINGS_KEY"]
