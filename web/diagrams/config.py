"""Where diagrams are stored, the key their page records are signed with, and the limits they
are converted under (from the app's config)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from evidence_store import DeviceSigner
from web.diagrams.limits import DiagramLimits
from web.diagrams.store import ExhibitStore
from web.evidence import data_dir

LIMITS_KEY = "SEALROOM_DIAGRAM_LIMITS"
RETRY_KEY = "SEALROOM_DIAGRAM_RETRY_SECONDS"  # how long a failed repair is not tried again
DEFAULT_RETRY_SECONDS = 60.0
_SIGNER_KEY = "sealroom.diagram_signer"


def diagram_limits() -> DiagramLimits:
    limits: DiagramLimits = current_app.config.get(LIMITS_KEY) or DiagramLimits()
    return limits


def retry_seconds() -> float:
    return float(current_app.config.get(RETRY_KEY, DEFAULT_RETRY_SECONDS))


def _installation_signer() -> DeviceSigner:
    """The installation's key (``<data_dir>/keys`` or as configured), loaded once per app."""
    signer: DeviceSigner | None = current_app.extensions.get(_SIGNER_KEY)
    if signer is None:
        signer = data_dir().signer()
        current_app.extensions[_SIGNER_KEY] = signer
    return signer


def exhibit_store() -> ExhibitStore:
    root: Path = data_dir().root
    return ExhibitStore(root / "exhibits", signer=_installation_signer())
