"""Sending a built package: the bytes that leave are the bytes the build recorded, or none.

The package is hashed through the very file handle it is then sent from, before a byte goes
out: a package replaced or edited since the build is refused whole. That costs one read of
the package (about a second per gigabyte from the page cache; the build has just read it
twice). The stream is hashed again as it is sent, and its last chunk is held back until that
digest is known, so a file edited in place during the download never arrives complete.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from evidence_store.store import CHUNK


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


def checked_chunks(
    handle: BinaryIO, expected: str, on_mismatch: Callable[[str], None]
) -> Iterator[bytes]:
    """The handle's bytes, hashed as they go; the last chunk only once they hash to
    ``expected``. On a mismatch ``on_mismatch`` gets the actual digest and the stream breaks
    off, so the receiver is left with a truncated file. Closes the handle."""
    digest = hashlib.sha256()
    held: bytes | None = None
    try:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        actual = digest.hexdigest()
        if actual != expected:
            on_mismatch(actual)
            raise PackageChanged(f"the package changed while it was sent ({actual})")
        if held is not None:
            yield held
    finally:
        handle.close()
