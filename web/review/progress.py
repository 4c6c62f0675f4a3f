""" "Verify now" with a real progress bar: the session is verified in a worker thread while
the response streams newline-delimited JSON (``application/x-ndjson``).

Every line is one JSON object: first ``{"done": 0, "total": bytes}``, then one each time the
bytes hashed pass another whole percent of the total (so a fast verification still reports
its steps, and a long one sends no more than about a hundred lines), the last count once the
verification ends, and finally the answer the page needs (verdict, reason, the rendered
"last verification" line). While nothing moves, the last count is repeated every
``HEARTBEAT_SECONDS``: a proxy in front never takes the stream for a dead one.

The verification's conclusion (custody event, alarm) is reached even when the person leaves
the page before the end: closing the stream waits for the verification and concludes it.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

PROGRESS_MIMETYPE = "application/x-ndjson"
HEARTBEAT_SECONDS = 15.0  # well under nginx's proxy_read_timeout (deploy/nginx)

Outcome = dict[str, Any]
Run = Callable[[Callable[[int], None]], Outcome]  # verifies, telling bytes hashed as it goes


class Tally:
    """Bytes hashed so far, advanced by the hashing threads; queues a line at each new
    whole percent. Counts only rise: lines leave in the order they were counted."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._percent = 0
        self._lock = threading.Lock()
        self.lines: queue.Queue[tuple[int, int] | None] = queue.Queue()

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count
            # An open session may have grown since the catalog counted it: the total follows.
            self.total = max(self.total, self.done)
            percent = self.done * 100 // self.total if self.total else 0
            if percent > self._percent:
                self._percent = percent
                self.lines.put((self.done, self.total))

    def now(self) -> tuple[int, int]:
        with self._lock:
            return self.done, self.total


def line(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode() + b"\n"


def progress_lines(run: Run, total: int, conclude: Callable[[Outcome], Outcome]) -> Iterator[bytes]:
    """Run ``run`` in a worker thread and stream its progress, then ``conclude``'s answer.
    ``conclude`` runs in the caller's thread (it needs the request: custody, alarm)."""
    tally = Tally(total)
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify")
    future: Future[Outcome] = worker.submit(run, tally.advance)
    future.add_done_callback(lambda _: tally.lines.put(None))
    worker.shutdown(wait=False)  # the thread ends with the verification
    concluded = False
    try:
        counted: tuple[int, int] | None = (0, total)
        while counted is not None:
            yield line({"done": counted[0], "total": counted[1]})
            # Nothing new in time: the same count again (never the tally's own, which may
            # be ahead of a line still queued).
            with contextlib.suppress(queue.Empty):
                counted = tally.lines.get(timeout=HEARTBEAT_SECONDS)
        outcome = future.result()
        done, total = tally.now()
        yield line({"done": done, "total": total})
        concluded = True
        answer = conclude(outcome)
    finally:
        if not concluded:  # the page was left, or the stream broke: it still counts
            conclude(future.result())
    yield line(answer)
