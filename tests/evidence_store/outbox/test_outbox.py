"""The outbox: items queued on disk survive kills, leave in order, wait out a destination that
is down, and are set aside (never dropped) when the destination refuses them for good.

The destination is a real HTTP server on loopback, stopped and started again mid-test."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_store.outbox import (
    Backoff,
    DeliveryDeferred,
    DeliveryRefused,
    Outbox,
    OutboxItem,
    OutboxSender,
    Route,
)


class Destination:
    """A real HTTP server that records what it receives; 409 for payloads it refuses."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.port = 0
        self._server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("refuse"):
                    self.send_response(409)
                else:
                    received.append(body)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def deliver(self, item: OutboxItem) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/",
            data=json.dumps(item.payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=2).close()
        except urllib.error.HTTPError as exc:
            if exc.code == 409:
                raise DeliveryRefused(f"the destination refused it ({exc.code})") from exc
            raise DeliveryDeferred(f"HTTP {exc.code}") from exc
        except OSError as exc:
            raise DeliveryDeferred(f"unreachable: {exc}") from exc


@pytest.fixture
def destination() -> Iterator[Destination]:
    server = Destination()
    server.start()
    yield server
    server.stop()


def fast_route(outbox: Outbox, destination: Destination) -> Route:
    return Route(outbox, destination.deliver, backoff=Backoff(initial=0.05, maximum=0.2))


def test_items_leave_in_order_and_are_removed_once_delivered(
    tmp_path: Path, destination: Destination
) -> None:
    outbox = Outbox(tmp_path, "witness")
    for n in range(5):
        outbox.put("head", {"n": n})
    sender = OutboxSender([fast_route(outbox, destination)])
    assert sender.drain_once() == 5
    assert [r["n"] for r in destination.received] == [0, 1, 2, 3, 4]
    assert outbox.pending() == [] and outbox.backlog().items == 0


def test_a_destination_that_is_down_keeps_everything_until_it_returns(
    tmp_path: Path, destination: Destination
) -> None:
    outbox = Outbox(tmp_path, "catalog")
    destination.stop()
    for n in range(3):
        outbox.put("event", {"n": n})
    sender = OutboxSender([fast_route(outbox, destination)])
    assert sender.drain_once() == 0
    [status] = sender.statuses()
    assert status.failures == 1 and status.last_error and "unreachable" in status.last_error
    backlog = outbox.backlog()
    assert backlog.items == 3 and backlog.oldest_seconds is not None
    destination.start()  # the same port, back again
    sender.start()
    try:
        deadline = time.monotonic() + 20
        while outbox.backlog().items and time.monotonic() < deadline:
            sender.wake()
            time.sleep(0.05)
    finally:
        sender.stop()
    assert [r["n"] for r in destination.received] == [0, 1, 2]
    assert sender.statuses()[0].failures == 0


def test_a_refused_item_is_set_aside_with_its_reason_and_does_not_block_the_rest(
    tmp_path: Path, destination: Destination
) -> None:
    outbox = Outbox(tmp_path, "witness")
    outbox.put("head", {"n": 0})
    refused = outbox.put("head", {"n": 1, "refuse": True})
    outbox.put("head", {"n": 2})
    seen: list[tuple[str, str, str]] = []
    sender = OutboxSender(
        [fast_route(outbox, destination)],
        on_refused=lambda dest, item, reason: seen.append((dest, item.id, reason)),
    )
    assert sender.drain_once() == 2
    assert [r["n"] for r in destination.received] == [0, 2]
    assert outbox.refused() == [(refused.id, "the destination refused it (409)\n")]
    assert seen == [("witness", refused.id, "the destination refused it (409)")]
    assert outbox.backlog().refused == 1


def test_an_unreadable_item_is_refused_not_fatal(tmp_path: Path, destination: Destination) -> None:
    outbox = Outbox(tmp_path, "tsa")
    good = outbox.put("stamp", {"n": 1})
    broken = good.path.with_name("00000000000000000001-deadbeef.json")
    broken.write_bytes(b"\x00" * 64)  # zero-filled by a power cut
    assert [item.id for item in outbox.pending()] == [good.id]
    [(ident, reason)] = outbox.refused()
    assert ident == broken.stem and "unreadable" in reason


def test_a_bug_in_a_delivery_keeps_the_item_and_backs_off(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, "catalog")
    outbox.put("event", {"n": 1})

    def broken(_item: OutboxItem) -> None:
        raise KeyError("session_id")

    sender = OutboxSender([Route(outbox, broken, backoff=Backoff(initial=10, maximum=10))])
    assert sender.drain_once() == 0
    assert outbox.backlog().items == 1
    [status] = sender.statuses()
    assert status.last_error == "internal error: KeyError: 'session_id'"
    assert sender.drain_once() == 0  # backing off: not retried at once


def test_only_one_process_drains_an_outbox_at_a_time(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, "witness")
    with outbox.draining() as first:
        assert first
        holder = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from evidence_store.outbox import Outbox; "
                "o = Outbox(Path(sys.argv[1]), 'witness'); "
                "cm = o.draining(); print(cm.__enter__())",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert holder.stdout.strip() == "False"


PUTTER = """
import sys
from pathlib import Path
from evidence_store.outbox import Outbox
outbox = Outbox(Path(sys.argv[1]), "witness")
n = 0
while True:
    outbox.put("head", {"n": n, "pad": "x" * 2000})
    print(n, flush=True)
    n += 1
"""


def test_items_survive_a_kill_mid_put_and_nothing_half_written_is_sent(
    tmp_path: Path, destination: Destination
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", PUTTER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    acknowledged = -1
    while acknowledged < 200:
        acknowledged = int(process.stdout.readline())
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    outbox = Outbox(tmp_path, "witness")
    sender = OutboxSender([fast_route(outbox, destination)])
    while sender.drain_once():
        pass
    sent = [int(str(r["n"])) for r in destination.received]
    # Every item the putter was told was queued is delivered, in order, once; nothing torn.
    assert sent == list(range(len(sent))) and len(sent) >= acknowledged + 1
    assert outbox.refused() == []


def test_a_half_written_item_left_by_a_kill_is_swept_once_it_is_old(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, "witness")
    outbox.put("head", {"n": 0})
    fresh = outbox.folder / ".00000000000000000002-0000abcd.json.tmp"
    stale = outbox.folder / ".00000000000000000001-0000abcd.json.tmp"
    fresh.write_bytes(b"{")
    stale.write_bytes(b"{")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    with outbox.draining():
        pass
    assert fresh.exists() and not stale.exists()
    assert len(outbox.pending()) == 1
