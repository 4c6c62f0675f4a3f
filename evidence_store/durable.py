"""Durable files: write-once publication, and atomic replacement of small state files.

Write-once (sealed objects, exhibits, generated keys and secrets): the bytes go to a private
temporary file in the final directory, which is flushed to disk and given its final mode, then
linked to its final name with ``os.link``. ``link`` fails if the name exists, so checking and
creating are one atomic step: nothing is ever overwritten, even by two writers racing. The
directory is flushed before the write is acknowledged, and the temporary is removed whether
the write succeeds or fails.

Atomic replacement (state files): the same temporary, renamed over the old file, so a reader
sees the old file or the new one, never a missing or half-written one.

Temporaries are named ``.<name>.<random>.<pid>.tmp``: unique per call (two writers never share
one), and recognisable (``TEMPORARY_NAME``) so listings can leave out writes in progress.

A mode is what the file may at most allow: the process's umask takes bits off it, as it does
for every file the process creates. The installation sets that umask
(``evidence_store.installation``), so a sealed object is 0400 (0440 where the data directory
is configured group-readable), never readable by every local user.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evidence_store.failpoints import failpoint

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # 0444 less the umask: sealed
PRIVATE = stat.S_IRUSR | stat.S_IWUSR  # 0600: keys, secrets and a service's own state
TEMPORARY_NAME = re.compile(r"^\..+\.\d+\.tmp$")
_USUAL_UMASK = 0o022


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` can only swap it, which
    would leave other threads creating files under a wrong mask meanwhile)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _USUAL_UMASK


def masked(mode: int) -> int:
    """``mode`` less the process's umask: what a file created now may allow."""
    return mode & ~current_umask()


class NameTaken(FileExistsError):
    """A write-once name already holds something else; nothing was written."""


def fsync_directory(path: Path) -> None:
    """Flush a directory's entries (a new or removed name) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_once(path: Path, data: bytes, *, mode: int, scratch: Path | None = None) -> bool:
    """Create ``path`` holding ``data`` with permissions ``mode``, never replacing anything.

    True if this call wrote it; False if ``path`` already was a regular file holding exactly
    ``data`` (so a retry of a finished write succeeds). Anything else at ``path`` (other
    bytes, a symlink, a directory) raises ``NameTaken`` and is left as it is.

    The temporary is made in ``scratch`` (a directory on the same filesystem) when given,
    else beside ``path``: a store keeps its temporaries out of the directories it seals, so
    a crash never leaves one among sealed objects.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _durable_temporary(path, data, mode, directory=scratch) as temporary:
        try:
            os.link(temporary, path)
        except FileExistsError:
            if not _holds(path, data):
                raise NameTaken(
                    f"{path} already exists with other content; it is never replaced"
                ) from None
            written = False
        else:
            written = True
    # Also when the bytes were there already: an earlier writer may have died before this.
    fsync_directory(path.parent)
    return written


def publish_once(source: Path, path: Path, *, mode: int) -> None:
    """Give the finished file ``source`` (same filesystem) the new name ``path``, with
    permissions ``mode``; ``source`` is removed. If ``path`` exists, whatever it holds,
    ``NameTaken`` is raised and ``source`` is kept (with ``mode``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as handle:
        os.fchmod(handle.fileno(), masked(mode))  # before linking: never writable once named
        os.fsync(handle.fileno())
    try:
        os.link(source, path)
    except FileExistsError:
        raise NameTaken(f"{path} already exists; it is never replaced") from None
    fsync_directory(path.parent)
    failpoint("publish_once:linked")  # both names hold the file until the next line
    source.unlink()
    fsync_directory(source.parent)


def replace_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Put ``data`` at ``path`` with permissions ``mode``, replacing what is there in one
    step: readers see the old file or the new one, and a crash leaves one of the two."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _durable_temporary(path, data, mode) as temporary:
        temporary.replace(path)
    fsync_directory(path.parent)


@contextmanager
def _durable_temporary(
    path: Path, data: bytes, mode: int, *, directory: Path | None = None
) -> Iterator[Path]:
    """``data`` in a flushed temporary file beside ``path`` (or in ``directory``), with
    ``mode``; removed after."""
    fd, name = tempfile.mkstemp(
        dir=directory or path.parent, prefix=f".{path.name}.", suffix=f".{os.getpid()}.tmp"
    )
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), masked(mode))
            os.fsync(handle.fileno())
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` itself (not a symlink's target) is a regular file of exactly ``data``."""
    try:
        # O_NONBLOCK: a FIFO planted at the name must not stall the writer.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        with open(fd, "rb", closefd=False) as handle:
            return handle.read(len(data) + 1) == data
    finally:
        os.close(fd)
