"""The console's commands: ``users create``, ``units create``, ``rooms add``,
``rooms credential``, ``console``, ``run``, ``worker``, ``catalog-credential``, and
``export``, whose home is ``web.exports.cli`` (the console owns clips and their database)."""

from web.cli import accounts, room_catalog, rooms, serve, worker
from web.exports import COMMANDS as EXPORT_COMMANDS
from web.settings import SETTINGS_KEY

COMMANDS = [
    *accounts.COMMANDS,
    *rooms.COMMANDS,
    *serve.COMMANDS,
    *worker.COMMANDS,
    *room_catalog.COMMANDS,
    *EXPORT_COMMANDS,
]

__all__ = ["COMMANDS", "SETTINGS_KEY"]
