"""Sealed segments read whole and checked against their seal before any byte leaves.

A segment is small (a few MB), so the honest order is simple: read all of it, hash it, and
send it (or the range asked for) only if its SHA-256 and size are the sealed ones. What was
checked is kept in memory with the bytes themselves, under the object's identity (the local
file's device, inode, size and change times; the bucket's first locked version), so a
player's range requests on an unchanged segment are answered without hashing it again, and
what is sent is always the very bytes that were hashed, even if the file is changed while
they go out. A changed identity means a new check. Bounded by bytes; least recently used
segments go first.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app

from evidence_store import Reason, layout, reason_fields
from evidence_store.bucket import LayeredStore

BUDGET = 64 * 1024 * 1024  # about 30 two-second segments of 720p; a miss costs one read
EXTENSION_KEY = "sealroom.checked_segments"
MISSING = "missing"
NOT_READ = "not read (wrong size)"  # a replaced segment could be huge: never read it


class Seal(Protocol):
    """What the signed chain sealed for one segment (a SegmentRef, or a clip's ClipSegment)."""

    @property
    def index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def path(self) -> str: ...


@dataclass(frozen=True)
class Identity:
    """Which bytes a key names now: equal identities, equal bytes."""

    where: tuple[object, ...]
    size: int


@dataclass(frozen=True)
class Refusal:
    """A segment that is not what its seal says: what was found in its place."""

    index: int
    name: str
    path: str  # where it lives in its session (under its track, in a passthrough session)
    sealed_sha256: str
    sealed_size: int
    found_sha256: str  # its SHA-256, MISSING or NOT_READ
    found_size: int  # -1 when missing

    def reason(self) -> Reason:
        if self.found_sha256 == MISSING:
            return Reason("segment_missing_deleted_renamed", "segment missing (deleted or renamed)")
        if self.found_size != self.sealed_size:
            return Reason(
                "segment_size_differs",
                "segment is {found} bytes, the chain sealed {sealed}",
                found=self.found_size,
                sealed=self.sealed_size,
            )
        return Reason(
            "segment_content_does_match",
            "segment content does not match its sealed SHA-256 (altered or replaced)",
        )

    def failure(self) -> dict[str, Any]:
        """The refusal as a verification outcome (the shape ``web.clips.verify`` returns)."""
        return {
            "intact": False,
            "result": "tampered",
            "location": self.path,
            "reason": str(self.reason()),
            **reason_fields(self.reason()),
        }


@dataclass(frozen=True)
class _Checked:
    identity: Identity
    sha256: str
    body: bytes


def identity(store: LayeredStore, key: str) -> Identity | None:
    """The object's identity now; None when neither store has it. Asks the bucket (a HEAD)
    for an object that is only there, so an unreachable bucket raises StoreError."""
    local = store.local_path(key)
    if local is not None:
        try:
            stat = local.stat()
        except FileNotFoundError:
            return None  # deleted between the two looks
        where = ("local", stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
        return Identity(where, stat.st_size)
    if not store.has_remote:
        return None
    info = store.remote().head_first(key)
    if info is None:
        return None
    return Identity(("bucket", info.version_id), info.size)


class CheckedSegments:
    """Segments this process read whole and found equal to their seal, with their bytes."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Checked] = OrderedDict()
        self._bytes = 0
        self.hashed = 0  # segments read and hashed (not answered from memory)

    def bytes_of(self, store: LayeredStore, session_id: str, seal: Seal) -> bytes | Refusal:
        """The segment's bytes if they are the sealed ones, else what was found instead."""
        key = layout.session_prefix(session_id) + seal.path
        now = identity(store, key)
        if now is None:
            return self._refusal(seal, MISSING, -1)
        with self._lock:
            known = self._entries.get(key)
            if known is not None and known.identity == now and known.sha256 == seal.sha256:
                self._entries.move_to_end(key)
                return known.body
            if known is not None:  # changed since it was checked: check it again
                del self._entries[key]
                self._bytes -= len(known.body)
        if now.size != seal.size:
            return self._refusal(seal, NOT_READ, now.size)
        try:
            body = store.read_bytes(key)
        except FileNotFoundError:
            return self._refusal(seal, MISSING, -1)
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self.hashed += 1
        if len(body) != seal.size or digest != seal.sha256:
            return self._refusal(seal, digest, len(body))
        self._keep(key, _Checked(now, digest, body))
        return body

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _keep(self, key: str, checked: _Checked) -> None:
        if len(checked.body) > self.budget:
            return
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._bytes -= len(replaced.body)
            self._entries[key] = checked
            self._bytes += len(checked.body)
            while self._bytes > self.budget:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)

    @staticmethod
    def _refusal(seal: Seal, found_sha256: str, found_size: int) -> Refusal:
        return Refusal(
            seal.index, seal.name, seal.path, seal.sha256, seal.size, found_sha256, found_size
        )


def checked_segments() -> CheckedSegments:
    """This application's cache (one per app, so separate consoles never share results)."""
    found: CheckedSegments = current_app.extensions.setdefault(EXTENSION_KEY, CheckedSegments())
    return found
