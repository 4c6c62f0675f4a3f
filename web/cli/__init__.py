"""The console's commands: ``users create``, ``units create``, ``console``, ``run``,
``worker``, and
``export``, whose home is ``web.exports.cli`` (the console owns clips and their database)."""

from web.cli import accounts, serve, worker
from web.exports import COMMANDS as EXPORT_COMMANDS
from web.settings import SETTINGS_KEY

COMMANDS = [*accounts.COMMANDS, *serve.COMMANDS, *worker.COMMANDS, *EXPORT_COMMANDS]

__all__ = ["COMMANDS", "SETTINGS_KEY"]
