"""Who may read an installation's files: its owner only, or its group where configured.

The data directory holds recordings, the custody log, the console's password hashes and the
export packages, so nothing in it is for every local user. Every sealroom process sets its
umask from the policy (``restrict_new_files``): directories are created 0700, files 0600,
sealed objects 0400; with ``[evidence] group_readable`` the group may read too (0750, 0640,
0440), never write. Installations made before the rule are tightened: at start, with a
warning, when the data directory itself is open to others (``secure_installation``; when it
is closed, nothing inside can be reached, so the start stays fast), or on demand by
``sealroom doctor --fix``, which also looks inside.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evidence_store.errors import UsageError

log = logging.getLogger("sealroom.installation")

GROUP_READ = stat.S_IRGRP | stat.S_IXGRP  # r-x for directories, r (x never) for files


@dataclass(frozen=True)
class Permissions:
    """The most a path in the data directory may allow to anyone but its owner."""

    group_readable: bool = False

    @property
    def umask(self) -> int:
        return 0o027 if self.group_readable else 0o077

    def excess(self, mode: int, *, directory: bool) -> int:
        """The permission bits of ``mode`` beyond the policy (0 when it complies)."""
        allowed = 0
        if self.group_readable:
            allowed = GROUP_READ if directory else stat.S_IRGRP
        return stat.S_IMODE(mode) & 0o077 & ~allowed


@dataclass(frozen=True)
class OpenPath:
    """A path that allows more than the policy: its mode and what is too much."""

    path: Path
    mode: int
    excess: int

    def describe(self) -> str:
        return f"{self.path} is {self.mode:04o} (allows {self.excess:04o} to others than its owner)"


def restrict_new_files(policy: Permissions) -> None:
    """From now on, this process creates nothing more open than the policy allows."""
    os.umask(policy.umask)


def _entries(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """The data directory and everything in it, symbolic links left alone (never followed)."""
    yield root, root.lstat()
    for folder, directories, files in os.walk(root, followlinks=False):
        for name in (*directories, *files):
            path = Path(folder) / name
            try:
                found = path.lstat()
            except FileNotFoundError:  # removed meanwhile (a temporary)
                continue
            if not stat.S_ISLNK(found.st_mode):
                yield path, found


def open_paths(root: Path, policy: Permissions) -> list[OpenPath]:
    """Every path under ``root`` (itself included) that allows more than ``policy``."""
    if not root.exists():
        return []
    found = []
    for path, status in _entries(root):
        excess = policy.excess(status.st_mode, directory=stat.S_ISDIR(status.st_mode))
        if excess:
            found.append(OpenPath(path, stat.S_IMODE(status.st_mode), excess))
    return found


def tighten(root: Path, policy: Permissions) -> list[OpenPath]:
    """Take the excess permissions off every path under ``root``; returns what was changed."""
    changed = []
    for item in open_paths(root, policy):
        try:
            _chmod(item.path, item.mode & ~item.excess)
        except FileNotFoundError:
            continue
        changed.append(item)
    return changed


def _chmod(path: Path, mode: int) -> None:
    try:
        path.chmod(mode, follow_symlinks=False)  # a link swapped in meanwhile is not followed
    except NotImplementedError:  # a platform without it: links were left out above
        path.chmod(mode)


def secure_installation(root: Path, policy: Permissions) -> list[OpenPath]:
    """Set the process's umask, create ``root`` private if it is missing, and tighten an
    installation whose data directory is open to others (warning about each change)."""
    restrict_new_files(policy)
    try:
        root.mkdir(parents=True, exist_ok=True)
        status = root.stat()
    except OSError as exc:
        raise UsageError(f"cannot create data directory {root}: {exc.strerror}") from exc
    if not policy.excess(status.st_mode, directory=True):
        return []
    changed = tighten(root, policy)
    if changed:
        log.warning(
            "the data directory %s was readable by other local users: %d paths tightened "
            "(first: %s); run `sealroom doctor` to check it",
            root,
            len(changed),
            changed[0].describe(),
        )
    return changed
