"""Sending a built package: the bytes that leave are the bytes the build recorded, or none.

The package is hashed through the very file handle it is then sent from, before a byte goes
out: a package replaced or edited since the build is refused whole. That costs one read of
the package (about a second per gigabyte from the page cache; the build has just read it
twice). The stream is hashed again as it is sent, and its last chunk is held back until that
digest is known, so a file edited in place during the download never arrives complete.

What happened is told once the stream has ended, never before: every byte handed over and
matching (``sent``), a changed file broken off (``changed``), or a receiver that went away or
a read that failed part way (``cut_off``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from evidence_store import CHUNK


class PackageChanged(Exception):
    """The package's bytes changed while they were being sent."""


def digest_of(handle: BinaryIO) -> str:
    """SHA-256 of the handle's bytes from the start; leaves it rewound for sending."""
    handle.seek(0)
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def open_package(path: Path) -> tuple[BinaryIO, int] | None:
    """The package's handle and size, or None when there is no such file."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    return handle, os.fstat(handle.fileno()).st_size


@dataclass(frozen=True)
class SendOutcome:
    """What to do when a stream ends; exactly one of these is called, once."""

    sent: Callable[[int], None]  # bytes handed over: all of them, hashing to what was expected
    changed: Callable[[str], None]  # the actual digest; the stream is then broken off
    cut_off: Callable[[int], None]  # bytes handed over before the stream stopped early


def checked_chunks(
    handle: BinaryIO, expected: str, outcome: SendOutcome
) -> Generator[bytes, None, None]:
    """The handle's bytes, hashed as they go; the last chunk only once they hash to
    ``expected``. On a mismatch the stream breaks off, so the receiver is left with a
    truncated file. ``outcome`` hears how it ended only after the last chunk was taken (the
    server asks for the next one only once the previous one was written). Closes the handle."""
    digest = hashlib.sha256()
    held: bytes | None = None
    handed = 0
    ended = False
    try:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if held is not None:
                yield held
                handed += len(held)
            held = chunk
        actual = digest.hexdigest()
        if actual != expected:
            ended = True
            outcome.changed(actual)
            raise PackageChanged(f"the package changed while it was sent ({actual})")
        if held is not None:
            yield held
            handed += len(held)
        ended = True
        outcome.sent(handed)
    finally:
        handle.close()
        if not ended:  # closed by the server mid-way (receiver gone) or a failed read
            outcome.cut_off(handed)
