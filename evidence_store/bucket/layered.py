"""The evidence as a reader sees it: the local store first, the bucket for what has left it.

A sealed session leaves the local spool once every object is confirmed in the bucket (see
``spool``). The console, the verifier and exports read through this layer so a session reads
the same before and after its release. Per key, the local copy wins (it is the same sealed
bytes, and nearer); a listing comes wholly from the side that holds the prefix, so a session
being uploaded is never seen half from each.

The bucket is connected on first use and again after a failure, so a console started while
the object store is down recovers by itself; until then, local sessions still work and a
released one gets a clear ``StoreError``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from evidence_store.bucket.store import S3Store
from evidence_store.errors import StoreError
from evidence_store.store import FilesystemStore

log = logging.getLogger(__name__)


class LayeredStore:
    """Local store over an optional S3 bucket; implements ``BrowsableStore``."""

    def __init__(self, local: FilesystemStore, connect: Callable[[], S3Store] | None) -> None:
        self.local = local
        self._connect = connect
        self._remote: S3Store | None = None
        self._lock = threading.Lock()
        self.remote_problem: str | None = None  # why the bucket was last unreachable

    @property
    def has_remote(self) -> bool:
        return self._connect is not None

    def remote(self) -> S3Store:
        """The bucket, connecting now if need be; StoreError when none or unreachable."""
        if self._connect is None:
            raise StoreError("no object store is configured, and the object is not local")
        with self._lock:
            if self._remote is None:
                try:
                    self._remote = self._connect()
                except StoreError as exc:
                    self.remote_problem = str(exc)
                    raise
                self.remote_problem = None
            return self._remote

    def local_path(self, key: str) -> Path | None:
        """The local file holding ``key``, if it is (still) local."""
        return self.local.path(key) if self.local.exists(key) else None

    # -- BrowsableStore ----------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        if self.local.exists(key):
            return True
        if self._connect is None:
            return False
        return self.remote().exists(key)

    def size(self, key: str) -> int:
        if self.local.exists(key):
            return self.local.size(key)
        return self.remote().size(key)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.local.read_bytes(key)
        except FileNotFoundError:
            if self._connect is None:
                raise
        return self.remote().read_bytes(key)

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        if self.local.exists(key):
            with self.local.open_read(key) as handle:
                yield handle
            return
        with self.remote().open_read(key) as handle:
            yield handle

    @contextlib.contextmanager
    def open_range(self, key: str, start: int, length: int) -> Iterator[BinaryIO]:
        if self.local.exists(key):
            with self.local.open_range(key, start, length) as handle:
                yield handle
            return
        with self.remote().open_range(key, start, length) as handle:
            yield handle

    def list_keys(self, prefix: str) -> list[str]:
        local = self.local.list_keys(prefix)
        if local or self._connect is None:
            return local
        return self.remote().list_keys(prefix)

    def list_children(self, prefix: str) -> list[str]:
        """Both sides' names; the bucket's are left out (and the problem kept) while it is
        unreachable, so local sessions stay listed."""
        names = set(self.local.list_children(prefix))
        if self._connect is not None:
            try:
                names.update(self.remote().list_children(prefix))
            except StoreError as exc:
                self.remote_problem = str(exc)
                log.warning("listing %s in the object store failed: %s", prefix, exc)
        return sorted(names)
