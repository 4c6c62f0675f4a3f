"""What this process knows of the export builds it runs: which it is running (claims), and
their progress, keyed by request, for the progress endpoint to read at once.

Builds are jobs of the shared database (``web.jobs``), run by ``sealroom worker`` or by a
console that runs its own; the job's lease says which process holds a build, and the job row
carries its progress to every replica (``ProgressSink``'s ``publish``). A request marked
"building" that no live job and no claim here accounts for is failed by
``web.exports.build.fail_interrupted``. At most ``MAX_PARALLEL_BUILDS`` build at once here.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

MAX_PARALLEL_BUILDS = 2  # each build is disk-bound; more in parallel only slows them all
KEPT_RESULTS = 500  # finished builds' last progress, for pages polled just after the end

# Stages in the order a build goes through them: progress never moves backwards.
QUEUED, COPYING, CHECKING, DONE, FAILED = "queued", "copying", "checking", "done", "failed"
STAGE_ORDER = (QUEUED, COPYING, CHECKING, DONE, FAILED)

JobKey = tuple[str, int]  # (database URL, request id): several consoles may share a process


@dataclass(frozen=True)
class BuildProgress:
    stage: str
    done: int  # bytes of evidence copied so far
    total: int  # bytes of evidence to copy (0 until known)

    def as_json(self) -> dict[str, object]:
        return {"stage": self.stage, "done": self.done, "total": self.total}


_lock = threading.Lock()
_claims: Counter[JobKey] = Counter()
_progress: OrderedDict[JobKey, BuildProgress] = OrderedDict()
_slots = threading.BoundedSemaphore(MAX_PARALLEL_BUILDS)


@contextmanager
def claims_held() -> Iterator[frozenset[JobKey]]:
    """The claimed keys, with claims frozen until the block ends (to fail dead builds safely:
    a claim made meanwhile would belong to a build that just started)."""
    with _lock:
        yield frozenset(key for key, count in _claims.items() if count > 0)


def claim(key: JobKey) -> None:
    """Declare that this process may be building ``key``, before the database says so."""
    with _lock:
        _claims[key] += 1


def release(key: JobKey) -> None:
    with _lock:
        _claims[key] -= 1
        if _claims[key] <= 0:
            del _claims[key]


def progress_of(key: JobKey) -> BuildProgress | None:
    with _lock:
        return _progress.get(key)


def set_progress(key: JobKey, progress: BuildProgress) -> None:
    with _lock:
        _progress[key] = progress
        _progress.move_to_end(key)
        while len(_progress) > KEPT_RESULTS:
            _progress.popitem(last=False)


class ProgressSink:
    """What a build reports through: bytes copied, then the stages after the copy.
    ``publish`` hears every change too (the job's heartbeat takes it to the database)."""

    def __init__(self, key: JobKey, publish: Callable[[BuildProgress], None] | None = None) -> None:
        self.key = key
        self.publish = publish
        self.current = BuildProgress(QUEUED, 0, 0)
        set_progress(key, self.current)

    def stage(self, stage: str, *, total: int | None = None) -> None:
        done = self.current.total if stage in (CHECKING, DONE) else self.current.done
        total = self.current.total if total is None else total
        self._publish(replace(self.current, stage=stage, done=min(done, total), total=total))

    def copied(self, count: int) -> None:
        """The export's progress callback: ``count`` more bytes copied. Links and signatures
        are copied too but not in the total (the media is), so the count is capped."""
        total = self.current.total
        done = min(self.current.done + count, total)
        stage = CHECKING if total and done >= total else COPYING
        self._publish(BuildProgress(stage, done, total))

    def _publish(self, progress: BuildProgress) -> None:
        self.current = progress
        set_progress(self.key, progress)
        if self.publish is not None:
            self.publish(progress)


@contextmanager
def build_slot() -> Iterator[None]:
    """One of this process's MAX_PARALLEL_BUILDS; waits for one to be free."""
    with _slots:
        yield
