"""The Flask console: room terminal, review, custody and courtroom presentation.

It talks to evidence through ``evidence_store`` and to a room's recorder only through
``recorder.control.client``; it never imports the capture or encoding pipeline."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web.app import create_app
    from web.cli import COMMANDS
    from web.doctor import console_checks
    from web.settings import SETTINGS_KEY, ConsoleSettings

_EXPORTS = {
    "COMMANDS": "web.cli",
    "ConsoleSettings": "web.settings",
    "console_checks": "web.doctor",
    "create_app": "web.app",
    "SETTINGS_KEY": "web.settings",
}

__all__ = ["COMMANDS", "SETTINGS_KEY", "ConsoleSettings", "console_checks", "create_app"]


def __getattr__(name: str) -> Any:
    """Load a public name on first use, so importing the package stays light."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
