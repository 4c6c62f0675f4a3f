"""A session's sealed segment values, from its signed chain, kept per console process.

The review player's segments are served against what the segment's signed link seals
(``evidence_store.SealedSegments``), never against the index or any other unsigned copy.
Each session's walk of its chain is kept (bounded, least recently used first), so a
segment request reads no link once the walk has passed it, and a session still being
recorded is read on from where the walk stopped. The trust roots are read when a session's
walk starts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app

from evidence_store import SealedSegments, SegmentRef
from evidence_store.bucket import LayeredStore
from web.evidence import data_dir

CAPACITY = 64  # sessions; an hour of two-second segments is 1800 small records
EXTENSION_KEY = "sealroom.session_seals"


class _Walk:
    def __init__(self, sealed: SealedSegments) -> None:
        self.sealed = sealed
        self.lock = threading.Lock()  # one reader of a session's chain at a time


class SessionSeals:
    """Walks of sessions' chains by session id."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._walks: OrderedDict[str, _Walk] = OrderedDict()

    def segment(
        self, store: LayeredStore, session_id: str, index: int, track: str | None = None
    ) -> SegmentRef | None:
        """What the session's signed chain seals as segment ``index`` of ``track`` (None:
        nothing yet). Raises VerificationError when a link up to it fails."""
        with self._lock:
            walk = self._walks.get(session_id)
            if walk is None:
                walk = _Walk(SealedSegments(store, session_id, data_dir().trust()))
                self._walks[session_id] = walk
                while len(self._walks) > self.capacity:
                    self._walks.popitem(last=False)
            self._walks.move_to_end(session_id)
        with walk.lock:
            return walk.sealed.segment(index, track)


def session_seals() -> SessionSeals:
    """This application's walks (one per app, so separate consoles never share results)."""
    found: SessionSeals = current_app.extensions.setdefault(EXTENSION_KEY, SessionSeals())
    return found
