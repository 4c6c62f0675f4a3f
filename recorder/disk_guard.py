"""Disk space: refuse a session the disk cannot hold, and stop one cleanly when the disk fills.

A full disk must never cost sealed evidence, nor leave a session that cannot be sealed:

- before a session starts, the disk must hold the configured maximum session length
  (estimated from the bitrates), or the session does not start;
- before each segment, the disk must hold that segment and the seal, or the recorder stops
  itself with ``stopped: disk full`` and seals what it has;
- a reserve file of a few MB (``<data_dir>/.reserve``) is held while the room records and given
  up when the disk fills, so that the stop, the seal and the custody alarm still fit when some
  other program filled the disk under the recorder. It is re-created at the next start.

The arithmetic (``SpaceBudget``) is kept apart from the I/O (``DiskGuard``) so it is tested
without a disk.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from recorder.errors import RecorderError
from recorder.settings import RecorderSettings

log = logging.getLogger("sealroom.recorder")

RESERVE_NAME = ".reserve"
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
MIB = 1024 * 1024
# Per segment: its link and signature (two files, a 4 KiB block each on ext4).
CHAIN_BYTES_PER_SEGMENT = 8 * 1024
# The seal: the final link, SHA256SUMS, the manifest, their signatures and the custody rows
# and checkpoints written with them; plus per segment its manifest entry and three
# SHA256SUMS lines.
SEAL_BASE_BYTES = 256 * 1024
SEAL_BYTES_PER_SEGMENT = 1024
# A segment may take more than the average: a busy picture costs x264 more bits.
SEGMENT_SAFETY_FACTOR = 2


class InsufficientSpaceError(RecorderError):
    """The disk cannot hold the session that was asked for; nothing was written."""


@dataclass(frozen=True, slots=True)
class SpaceBudget:
    """How much disk a recording needs, from the settings alone."""

    bytes_per_second: int
    segment_seconds: int
    reserve_bytes: int
    seal_bytes: int

    @classmethod
    def from_settings(cls, settings: RecorderSettings) -> SpaceBudget:
        media = (settings.estimated_video_bitrate + settings.audio_bitrate) // 8
        per_second = (
            media
            + media // 20  # MP4 framing
            + CHAIN_BYTES_PER_SEGMENT // settings.segment_seconds
        )
        segments = math.ceil(settings.max_session_seconds / settings.segment_seconds)
        seal = SEAL_BASE_BYTES + segments * SEAL_BYTES_PER_SEGMENT
        return cls(
            bytes_per_second=per_second,
            segment_seconds=settings.segment_seconds,
            reserve_bytes=max(settings.disk_reserve_bytes, seal),
            seal_bytes=seal,
        )

    def to_record(self, seconds: float) -> int:
        """Bytes a session of ``seconds`` needs, sealing included."""
        return math.ceil(seconds * self.bytes_per_second) + self.seal_bytes

    @property
    def next_segment(self) -> int:
        """Bytes that must be free before a segment starts: the segment and the seal."""
        segment = self.bytes_per_second * self.segment_seconds * SEGMENT_SAFETY_FACTOR
        return segment + self.seal_bytes

    def start_refusal(self, free: int, seconds: float, *, reserve_held: bool) -> str | None:
        """Why a session of ``seconds`` may not start with ``free`` bytes free, if it may not."""
        needed = self.to_record(seconds) + (0 if reserve_held else self.reserve_bytes)
        if free >= needed:
            return None
        return (
            f"not enough disk space to record {seconds / 60:g} min: {_mib(free)} free, "
            f"{_mib(needed)} needed (estimated {self.bytes_per_second * 8 // 1000} kbit/s"
            f"{'' if reserve_held else ' and the ' + _mib(self.reserve_bytes) + ' reserve'})"
        )

    def segment_refusal(self, free: int) -> str | None:
        """Why no further segment may start with ``free`` bytes free, if none may."""
        if free >= self.next_segment:
            return None
        return (
            f"disk full: {_mib(free)} free, a segment and the seal need up to "
            f"{_mib(self.next_segment)}"
        )


class DiskGuard:
    """Watches the free space of the data directory's disk and holds the reserve.

    Called with no argument (as ``SessionRecorder``'s ``guard``) before each new segment: it
    returns None while a segment fits, and otherwise gives up the reserve and returns the
    reason to stop. It never raises: a guard that cannot read the disk lets recording go on.
    """

    def __init__(
        self, data_root: Path, budget: SpaceBudget, *, evidence: Path | None = None
    ) -> None:
        self.reserve_path = data_root / RESERVE_NAME
        self.budget = budget
        self._watched = evidence or data_root

    @classmethod
    def for_data_dir(
        cls, root: Path, settings: RecorderSettings, *, evidence: Path | None = None
    ) -> DiskGuard:
        """The guard of a data directory (``evidence``: its store, if on another disk)."""
        return cls(root, SpaceBudget.from_settings(settings), evidence=evidence)

    def free_bytes(self) -> int:
        stats = os.statvfs(self._watched)
        return stats.f_bavail * stats.f_frsize

    @property
    def reserve_held(self) -> bool:
        try:
            return self.reserve_path.stat().st_size >= self.budget.reserve_bytes
        except FileNotFoundError:
            return False

    def prepare(self, seconds: float) -> None:
        """Before a session: refuse it if the disk cannot hold ``seconds`` of it, then hold
        the reserve. Raises InsufficientSpaceError; writes nothing but the reserve."""
        held = self.reserve_held
        reason = self.budget.start_refusal(self.free_bytes(), seconds, reserve_held=held)
        if reason is not None:
            raise InsufficientSpaceError(reason)
        if not held:
            self._hold_reserve()

    def release_reserve(self) -> bool:
        """Give the reserve back to the disk; True if there was one. It is our own
        placeholder, never evidence."""
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        log.warning(
            "released the %s disk reserve %s", _mib(self.budget.reserve_bytes), self.reserve_path
        )
        return True

    def __call__(self) -> str | None:
        try:
            reason = self.budget.segment_refusal(self.free_bytes())
        except OSError as exc:
            log.error("cannot read the free space of %s: %s", self._watched, exc)
            return None
        if reason is not None:
            self.release_reserve()
            log.error("ALARM: %s", reason)
        return reason

    def _hold_reserve(self) -> None:
        temp = self.reserve_path.with_name(RESERVE_NAME + ".tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                # Allocated blocks, not a sparse file: a hole would hold no space at all.
                os.posix_fallocate(fd, 0, self.budget.reserve_bytes)
                os.fsync(fd)
            finally:
                os.close(fd)
            temp.replace(self.reserve_path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise InsufficientSpaceError(
                f"cannot hold the {_mib(self.budget.reserve_bytes)} disk reserve "
                f"{self.reserve_path}: {exc.strerror or exc}"
            ) from exc


def disk_full_cause(exc: BaseException) -> OSError | None:
    """The "no space" OSError behind ``exc`` (itself or what caused it), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return current
        current = current.__cause__ or current.__context__
    return None


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the disk or quota being full."""
    return disk_full_cause(exc) is not None


def disk_full_reason(exc: BaseException) -> str:
    """The stop reason for a write that failed on a full disk (``exc`` is one)."""
    cause = disk_full_cause(exc)
    what = cause.strerror if cause is not None and cause.strerror else str(exc)
    return f"disk full: {what} while recording; the unfinished segment was not sealed"


def _mib(count: int) -> str:
    return f"{count / MIB:.1f} MiB"
