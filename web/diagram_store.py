"""Write-once storage of diagram originals and their display pictures.

``<data_dir>/exhibits/<sha256>`` holds an original exactly as received; its name is its
SHA-256, so anyone can check it with ``sha256sum``. Files are written to a temporary name,
flushed to disk, made read-only and then hard-linked into place: ``link`` fails rather than
replace an existing file, so nothing already stored is ever overwritten.
``<data_dir>/exhibits/display/<sha256>/<n>.png`` holds the PNG of page ``n`` derived from the
original (the only thing a browser is shown); they can always be made again from the original.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


class StoreCorrupted(Exception):
    """A stored file does not match the hash it is stored under."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_once(path: Path, data: bytes) -> bool:
    """Put ``data`` at ``path`` unless something is there; True if this call wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).chmod(0o444)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return True
    finally:
        Path(temporary).unlink(missing_ok=True)


class ExhibitStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def original_path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256

    def page_path(self, sha256: str, index: int) -> Path:
        if index < 0:
            raise ValueError("no such page")
        return self.root / "display" / self.original_path(sha256).name / f"{index}.png"

    def put_original(self, data: bytes) -> str:
        """Store ``data`` (if new) and return its SHA-256. The same bytes stored twice are
        one file; a file already there under that name must still match its hash."""
        sha256 = sha256_of(data)
        path = self.original_path(sha256)
        if not _write_once(path, data) and sha256_of_file(path) != sha256:
            raise StoreCorrupted(f"{path} does not match its SHA-256")
        return sha256

    def put_pages(self, sha256: str, pages: list[bytes]) -> None:
        for index, png in enumerate(pages):
            _write_once(self.page_path(sha256, index), png)

    def page_count(self, sha256: str) -> int:
        count = 0
        while self.page_path(sha256, count).is_file():
            count += 1
        return count

    def read_original(self, sha256: str) -> bytes:
        """The original, checked against its hash on the way out."""
        data = self.original_path(sha256).read_bytes()
        if sha256_of(data) != sha256:
            raise StoreCorrupted(f"exhibit {sha256} does not match its SHA-256")
        return data
