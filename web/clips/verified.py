"""The segment hashes this console process has itself established by verifying a clip.

A clip's proof is kept in the console's database (``Clip.proof``), which may sit on the same
disk as the evidence; a copy there is not evidence of anything. What ``verify_clip`` proved
(the signed chain seals these segments, with these SHA-256 values) is kept here, in memory,
under the clip's id and the SHA-256 of the exact proof text that was verified. The clip's
segment URL serves only against these values: if the database's proof text changes, its key
changes, and nothing is served until it verifies again (which a forged proof does not).

Bounded (least recently used entries go first) and safe to use from waitress's threads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from flask import current_app

from evidence_store import ClipProof, ClipSegment

CAPACITY = 256  # clips; an entry is a few hundred bytes per segment
EXTENSION_KEY = "sealroom.verified_clips"

Key = tuple[int, str]
# (track, segment index) -> what the signed chain sealed; the track is None but in a
# passthrough session.
Sealed = Mapping[tuple[str | None, int], ClipSegment]


def key_of(clip_id: int, proof_text: str) -> Key:
    return clip_id, hashlib.sha256(proof_text.encode("utf-8")).hexdigest()


class VerifiedClips:
    """Verified proofs by (clip id, SHA-256 of the proof text)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, Sealed] = OrderedDict()
        self._turns: dict[Key, tuple[threading.Lock, int]] = {}

    def get(self, key: Key) -> Sealed | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Key, proof: ClipProof) -> Sealed:
        sealed: Sealed = MappingProxyType({(s.track, s.index): s for s in proof.segments})
        with self._lock:
            self._entries[key] = sealed
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return sealed

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @contextmanager
    def turn(self, key: Key) -> Iterator[None]:
        """One verification at a time per key: the player's parallel fetches after a restart
        wait for the first one's result instead of each hashing the whole clip."""
        with self._lock:
            lock, waiting = self._turns.get(key, (threading.Lock(), 0))
            self._turns[key] = (lock, waiting + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, waiting = self._turns[key]
                if waiting == 1:
                    del self._turns[key]
                else:
                    self._turns[key] = (lock, waiting - 1)


def verified_clips() -> VerifiedClips:
    """This application's cache (one per app, so separate consoles never share results)."""
    found: VerifiedClips = current_app.extensions.setdefault(EXTENSION_KEY, VerifiedClips())
    return found
