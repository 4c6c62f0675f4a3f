"""Where diagrams are stored and the limits they are converted under (from the app's config)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from web.diagram_limits import DiagramLimits
from web.diagram_store import ExhibitStore

LIMITS_KEY = "SEALROOM_DIAGRAM_LIMITS"


def diagram_limits() -> DiagramLimits:
    limits: DiagramLimits = current_app.config.get(LIMITS_KEY) or DiagramLimits()
    return limits


def exhibit_store() -> ExhibitStore:
    root: Path = current_app.extensions["sealroom.data"].root
    return ExhibitStore(root / "exhibits")
