"""The embedded write-once store on a local filesystem.

An object is written to a temporary file, fsynced, then linked to its final name with
``os.link``, which fails if the name exists: the check and the creation are one atomic step, so
nothing is ever overwritten, even by two writers racing. The object is made read-only and its
directory fsynced before the write is acknowledged (``evidence_store.durable``). The store is
stricter than write-once alone: an existing object is refused even when a write brings the
same bytes, so a writer always learns that another got there first.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from evidence_store import layout
from evidence_store.durable import (
    READ_ONLY,
    TEMPORARY_NAME,
    NameTaken,
    publish_once,
    write_once,
)
from evidence_store.errors import ObjectExistsError, StoreError, UsageError

CHUNK = 1 << 20


class EvidenceReader(Protocol):
    """What verification needs from any store: read, list, and say what exists."""

    def read_bytes(self, key: str) -> bytes: ...

    def open_read(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]: ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]: ...


class BrowsableStore(EvidenceReader, Protocol):
    """What the console needs besides verification: sizes, ranges and session listing."""

    def size(self, key: str) -> int: ...

    def open_range(
        self, key: str, start: int, length: int
    ) -> contextlib.AbstractContextManager[BinaryIO]: ...

    def list_children(self, prefix: str) -> list[str]: ...


def unfinished_writes(reader: EvidenceReader, prefix: str) -> list[str]:
    """A store's temporaries under ``prefix`` (only a filesystem store has any)."""
    return reader.unfinished_writes(prefix) if isinstance(reader, FilesystemStore) else []


def irregular_entries(reader: EvidenceReader, prefix: str) -> list[tuple[str, str]]:
    """What under ``prefix`` is neither a regular file nor a directory, as (key, what it is):
    only a folder on disk can hold one (a bucket holds objects only)."""
    if isinstance(reader, FilesystemStore):
        return _irregular(reader.root / check_key(prefix.rstrip("/")), reader.root, "")
    if isinstance(reader, SessionFolder) and reader.prefix.startswith(prefix):
        return _irregular(reader.folder, reader.folder, reader.prefix)
    return []


def _irregular(base: Path, root: Path, key_prefix: str) -> list[tuple[str, str]]:
    # lstat, never stat: a symbolic link is reported as what it is, and never followed (out
    # of the session, or to a file that would pass for a sealed one).
    found = []
    for directory, subdirectories, files in os.walk(base):
        for name in subdirectories + files:
            path = Path(directory, name)
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                found.append((key_prefix + path.relative_to(root).as_posix(), _kind(mode)))
    return sorted(found)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def check_key(key: str) -> str:
    """Keys are relative POSIX paths without '.', '..' or empty parts."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in {"", ".", ".."} for p in parts) or "\\" in key:
        raise StoreError(f"invalid object key {key!r}")
    return key


def digest_object(
    reader: EvidenceReader, key: str, progress: Callable[[int], None] | None = None
) -> tuple[int, str]:
    """Stream an object through SHA-256; returns (size, hex digest)."""
    digest = hashlib.sha256()
    seen = 0
    with reader.open_read(key) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            seen += len(chunk)
            if progress:
                progress(len(chunk))
    return seen, digest.hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    """Stream a file through SHA-256; returns (hex digest, size)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while n := handle.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


class _Limited(io.RawIOBase):
    """At most ``remaining`` bytes of an open file, from where it stands."""

    def __init__(self, handle: BinaryIO, remaining: int) -> None:
        self.handle = handle
        self.remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self.remaining]
        count = self.handle.readinto(view)  # type: ignore[attr-defined]
        self.remaining -= count
        return int(count)


class FilesystemStore:
    """Write-once objects under ``root``; the default store when no object store is set."""

    INFLIGHT = ".inflight"

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, root: Path, *, create: bool) -> FilesystemStore:
        """Open (and optionally create) a store, failing early if it cannot be written."""
        if create:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(f"cannot create data directory {root}: {exc.strerror}") from exc
            if not os.access(root, os.W_OK | os.X_OK):
                raise UsageError(f"data directory {root} is not writable")
        elif not root.is_dir():
            raise UsageError(f"no evidence store at {root}")
        return cls(root)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def inflight_dir(self, prefix: str) -> Path:
        """A scratch directory for objects being written, on the same filesystem as the store."""
        directory = self.root / self.INFLIGHT / check_key(prefix.rstrip("/"))
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a new object durably; refuse if it exists, even with the same bytes."""
        target = self.path(key)
        try:
            written = write_once(target, data, mode=READ_ONLY, scratch=self._scratch())
        except NameTaken:
            written = False
        except OSError as exc:
            raise StoreError(f"cannot write {key}: {exc.strerror or exc}") from exc
        if not written:
            raise _exists(key)

    def _scratch(self) -> Path:
        """Where writes are staged: on the store's filesystem, outside every session."""
        directory = self.root / self.INFLIGHT
        directory.mkdir(exist_ok=True)
        return directory

    def put_file(self, key: str, source: Path) -> None:
        """Adopt a finished file (same filesystem) as a new object; the source is removed.
        If the object exists, the source is kept."""
        target = self.path(key)
        try:
            publish_once(source, target, mode=READ_ONLY)
        except NameTaken:
            raise _exists(key) from None
        except OSError as exc:
            raise StoreError(f"cannot store {key}: {exc.strerror or exc}") from exc

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreError(f"cannot read {key}: {exc.strerror or exc}") from exc

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        with self.path(key).open("rb") as handle:
            yield handle

    @contextlib.contextmanager
    def open_range(self, key: str, start: int, length: int) -> Iterator[BinaryIO]:
        """``length`` bytes of ``key`` from ``start``."""
        with self.path(key).open("rb") as handle:
            handle.seek(start)
            yield io.BufferedReader(_Limited(handle, length))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def list_keys(self, prefix: str) -> list[str]:
        """All object keys under ``prefix`` (which ends with '/'), sorted; temp files excluded."""
        base = self.root / check_key(prefix.rstrip("/"))
        if not base.is_dir():
            return []
        keys = []
        for path in base.rglob("*"):
            # Only the store's own unfinished writes are left out; any other file, hidden
            # or not, is listed, so verification sees it.
            if path.is_file() and not TEMPORARY_NAME.fullmatch(path.name):
                keys.append(path.relative_to(self.root).as_posix())
        return sorted(keys)

    def unfinished_writes(self, prefix: str) -> list[str]:
        """Temporaries under ``prefix``, which ``list_keys`` leaves out. The store stages its
        writes elsewhere (``.inflight``), so these were left by an older writer that died, or
        put there: verification counts them as objects, and sealing removes them."""
        base = self.root / check_key(prefix.rstrip("/"))
        if not base.is_dir():
            return []
        return sorted(
            path.relative_to(self.root).as_posix()
            for path in base.rglob("*")
            if path.is_file() and TEMPORARY_NAME.fullmatch(path.name)
        )

    def list_children(self, prefix: str) -> list[str]:
        """Immediate sub-directory names under ``prefix``."""
        base = self.root / check_key(prefix.rstrip("/"))
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir())


def _exists(key: str) -> ObjectExistsError:
    return ObjectExistsError(f"{key} already exists; sealed objects are never replaced")


class SessionFolder:
    """One session's directory, wherever it was copied, read as a store holding only that
    session: what ``python -m evidence_store.verify SESSION_DIR`` verifies. Read-only."""

    def __init__(self, folder: Path) -> None:
        self.session_id = check_session_folder(folder)
        self.folder = folder
        self.prefix = layout.session_prefix(self.session_id)

    def _path(self, key: str) -> Path:
        if not key.startswith(self.prefix):
            raise FileNotFoundError(key)  # another session: not in this folder
        return self.folder / check_key(key[len(self.prefix) :])

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        with self._path(key).open("rb") as handle:
            yield handle

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except FileNotFoundError:
            return False

    def list_keys(self, prefix: str) -> list[str]:
        if not self.prefix.startswith(prefix) and not prefix.startswith(self.prefix):
            return []
        # Every file counts, a temporary's name too: a copied folder holds no write in
        # progress, and verification must see whatever is there.
        keys = [
            self.prefix + path.relative_to(self.folder).as_posix()
            for path in self.folder.rglob("*")
            if path.is_file()
        ]
        return sorted(k for k in keys if k.startswith(prefix))


def check_session_folder(folder: Path) -> str:
    """The session id a folder is named by; a clear usage error for anything else."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a directory")
    name = folder.resolve().name
    if not layout.SESSION_ID_RE.fullmatch(name):
        raise UsageError(f"{folder} is not a session directory (its name is not s-...)")
    return name
