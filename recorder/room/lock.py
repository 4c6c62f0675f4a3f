"""One recording process per room: ``sealroom record`` and the room's recorder service both hold
the room's lock file, ``<data_dir>/recorder/<room>.lock``, for the life of their recording.

The lock is an ``flock`` on the file: the kernel drops it when its process ends, however it
ends, so a recorder killed with ``kill -9`` leaves no stale lock behind. The file also says who
holds the room, so that a refusal can name the process to turn to.
"""

from __future__ import annotations

import fcntl
import os
import urllib.parse
from pathlib import Path

from evidence_store import UsageError

ROOMS_DIR = "recorder"  # <data_dir>/recorder/<room>.lock, and the service's <room>.json
HOLDER_MAX_BYTES = 200


class RoomBusyError(UsageError):
    """Another live process already records this room."""


def room_file(data_root: Path, room: str, suffix: str) -> Path:
    """``<data_root>/recorder/<room><suffix>``, the room's name quoted into one file name."""
    return data_root / ROOMS_DIR / (urllib.parse.quote(room, safe="") + suffix)


class RoomLock:
    """The held lock of one room; ``release`` (or the process's end) gives the room up."""

    def __init__(self, room: str, path: Path, fd: int) -> None:
        self.room = room
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, data_root: Path, room: str, *, holder: str) -> RoomLock:
        """Hold ``room`` for ``holder`` (e.g. "the recorder service"); RoomBusyError, with
        nothing changed, when another process holds it."""
        path = room_file(data_root, room, ".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by children
        except OSError as exc:
            raise UsageError(f"cannot lock room {room}: {path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            # The holder writes its name just after locking: empty means "just now, unnamed".
            other = os.pread(fd, HOLDER_MAX_BYTES, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise RoomBusyError(
                f"room {room} is held by {other or 'another process'}: "
                "a room is recorded by one process at a time"
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder} (pid {os.getpid()})\n".encode(), 0)
        return cls(room, path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the room up. Idempotent."""
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None
