"""Scrubbing: every stored session verified again, locally and in the bucket, at a gentle
rate, resuming where it stopped; a mismatch is an alarm and a custody event."""

from evidence_store.scrub.scrubber import (
    STORES,
    PassReport,
    Scrubber,
    ScrubResult,
    ScrubStopped,
    scrub_forever,
)
from evidence_store.scrub.state import ScrubState

__all__ = [
    "STORES",
    "PassReport",
    "ScrubResult",
    "ScrubState",
    "ScrubStopped",
    "Scrubber",
    "scrub_forever",
]
