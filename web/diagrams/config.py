"""Where diagrams are stored, the key their page records are signed with, the limits they
are converted under (from the app's config), and the queue conversions wait in."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from evidence_store import DeviceSigner
from web.diagrams.convert import Converted
from web.diagrams.limits import DiagramLimits
from web.diagrams.queue import ConversionQueue
from web.diagrams.store import ExhibitStore
from web.diagrams.worker import convert_isolated
from web.evidence import console_settings, data_dir

LIMITS_KEY = "SEALROOM_DIAGRAM_LIMITS"
RETRY_KEY = "SEALROOM_DIAGRAM_RETRY_SECONDS"  # how long a failed repair is not tried again
DEFAULT_RETRY_SECONDS = 60.0
_SIGNER_KEY = "sealroom.diagram_signer"
QUEUE_KEY = "sealroom.diagram_conversions"


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


def conversion_queue() -> ConversionQueue:
    """This console's queue of conversions (``[console] diagram_conversions`` at once)."""
    queue: ConversionQueue | None = current_app.extensions.get(QUEUE_KEY)
    if queue is None:
        queue = current_app.extensions.setdefault(
            QUEUE_KEY, ConversionQueue(console_settings().diagram_conversions)
        )
    return queue


def convert_in_turn(data: bytes) -> Converted:
    """Convert an upload in the isolated worker, when its turn comes (Rejected("busy") if
    the queue is full)."""
    limits = diagram_limits()
    with conversion_queue().turn():
        return convert_isolated(data, limits)
