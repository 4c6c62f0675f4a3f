"""Where a session's recording runs lie on its media timeline and on the wall clock.

The timeline leaves pauses out; a player drawing the date and time of a moment (the caption
of a passthrough session, never burned in) needs to know which run the moment belongs to and
when that run began. Each run starts at a ``session_started`` or ``resumed`` time and lasts
until the next pause; its place on the timeline is where the runs before it ended. Display
only: the evidence is the chain.
"""

from __future__ import annotations

from evidence_store.model import Manifest
from evidence_store.timefmt import parse_utc


def runs(manifest: Manifest) -> list[dict[str, int | float]]:
    """``[{"at": seconds on the timeline, "wall_ms": epoch milliseconds}]``, one per run."""
    wall = parse_utc(manifest.started_at).timestamp()
    found: list[dict[str, int | float]] = [{"at": 0.0, "wall_ms": round(wall * 1000)}]
    at = 0.0
    for pause in manifest.pauses:
        at += max(0.0, parse_utc(pause.paused_at).timestamp() - wall)
        if pause.resumed_at is None:
            break
        wall = parse_utc(pause.resumed_at).timestamp()
        found.append({"at": round(at, 3), "wall_ms": round(wall * 1000)})
    return found
