"""Export packages asked for, approved, built in the background and downloaded, and the
``sealroom export`` command that builds them the same way."""

from web.exports.cli import COMMANDS
from web.exports.views import blueprint

__all__ = ["COMMANDS", "blueprint"]
