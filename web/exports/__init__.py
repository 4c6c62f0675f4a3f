"""Export packages asked for, approved, built in the background and downloaded, and the
``sealroom export`` command that builds them the same way."""

from web.exports.build import EXPORT_JOB, JOBS_KEY, run_export
from web.exports.cli import COMMANDS
from web.exports.views import blueprint

__all__ = ["COMMANDS", "EXPORT_JOB", "JOBS_KEY", "blueprint", "run_export"]
