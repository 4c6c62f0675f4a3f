"""Running the jobs of the shared database: ``sealroom worker``, or a console that runs its
own (``[console] run_jobs``, on by default: one machine, embedded).

The runner's loop takes a job (``queue.claim``), runs its kind's handler on a thread of its
own while a heartbeat renews the lease (and records progress for every replica's pages), and
marks it done or failed. At most ``parallel`` jobs run at once. A schedule runs periodic
work between jobs (the catalog's reconcile): never in a request.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import Flask

from web.jobs.queue import DONE, FAILED, LEASE_SECONDS, claim, finish, renew

log = logging.getLogger("sealroom.jobs")

POLL_SECONDS = 1.0


@dataclass
class JobContext:
    """What a handler gets: the job, who asked for it, and a way to tell its progress."""

    job_id: int
    ref: str
    actor: dict[str, str]
    progress: dict[str, object] = field(default_factory=dict)  # read by the heartbeat

    def report(self, stage: str, done: int, total: int) -> None:
        self.progress = {"stage": stage, "done": done, "total": total}


Handler = Callable[[JobContext], None]


@dataclass
class Schedule:
    """Work done every ``seconds`` (first at start)."""

    name: str
    seconds: float
    run: Callable[[], object]
    next_at: float = 0.0


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """Takes and runs jobs for ``app`` until stopped."""

    def __init__(
        self,
        app: Flask,
        handlers: Mapping[str, Handler],
        *,
        parallel: int = 2,
        schedules: list[Schedule] | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.owner = runner_id()
        self.schedules = schedules or []
        self.poll_seconds = poll_seconds
        self._slots = threading.BoundedSemaphore(parallel)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._scheduled = False

    def start(self, *, scheduled: bool = False) -> None:
        """Run in the background (idempotent); with ``scheduled``, the schedules too (a
        runner started only because a job was queued leaves them to a served one)."""
        self._scheduled = self._scheduled or scheduled
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self.run, name="job-runner", daemon=True)
                self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now (starting the runner if it was not running)."""
        self.start()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run(self) -> None:
        """The loop: scheduled work when due, then every job that can be taken."""
        while not self._stopping.is_set():
            try:
                if self._scheduled:
                    self._due_schedules()
                while not self._stopping.is_set() and self._take_one():
                    pass
            except Exception:  # a database outage or a bug: log it, keep running
                log.exception("job runner: unexpected failure")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _due_schedules(self) -> None:
        now = time.monotonic()
        for schedule in self.schedules:
            if now >= schedule.next_at:
                schedule.next_at = now + schedule.seconds
                try:
                    with self.app.app_context():
                        outcome = schedule.run()
                    log.info("%s: %s", schedule.name, outcome)
                except Exception:
                    log.exception("%s failed; next run on schedule", schedule.name)

    def _take_one(self) -> bool:
        if not self._slots.acquire(blocking=False):
            return False
        try:
            with self.app.app_context():
                job = claim(self.owner, self.handlers)
                taken = None if job is None else (job.id, job.kind, job.ref, job.actor)
        except BaseException:
            self._slots.release()
            raise
        if taken is None:
            self._slots.release()
            return False
        context = JobContext(taken[0], taken[2], json.loads(taken[3] or "{}"))
        thread = threading.Thread(
            target=self._run_job, args=(taken[1], context), name=f"job-{taken[0]}", daemon=True
        )
        thread.start()
        return True

    def _run_job(self, kind: str, context: JobContext) -> None:
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(context, done), daemon=True)
        beat.start()
        state, error = DONE, ""
        try:
            with self.app.app_context():
                self.handlers[kind](context)
        except Exception as exc:  # the handler records its own failure; the job says so too
            log.exception("job %s (%s) failed", context.job_id, kind)
            state, error = FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            done.set()
            beat.join()
            try:
                with self.app.app_context():
                    finish(context.job_id, self.owner, state, error)
            finally:
                self._slots.release()
                self._wake.set()

    def _heartbeat(self, context: JobContext, done: threading.Event) -> None:
        while not done.wait(min(LEASE_SECONDS / 3, 2.0)):
            try:
                with self.app.app_context():
                    if not renew(context.job_id, self.owner, **context.progress):
                        log.error("job %s: the lease was lost", context.job_id)
            except Exception:
                log.exception("job %s: renewing the lease failed", context.job_id)
