"""Diagram conversions wait their turn (the finding: one 143 KB upload cost about 580 MB, with
no limit on how many converted at once): at most ``[console] diagram_conversions`` run at
once, and an upload that finds every slot taken is refused at once as busy (503): none waits
holding a console thread (the later finding: the queue held 10 of 16 threads for a minute)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.console import build_console
from tests.support.diagrams import client_for, png_bytes, upload
from web.diagrams.config import QUEUE_KEY, conversion_queue
from web.diagrams.queue import ConversionQueue
from web.settings import ConsoleSettings

BURST = 5


@pytest.mark.slow
def test_a_burst_of_uploads_converts_at_most_two_at_once(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    clients = [client_for(console, "prosecutor") for _ in range(BURST)]
    for client in clients:
        client.get("/language/en")
    files = [png_bytes((64 + n, 48), colour=(n * 40, 0, 0)) for n in range(BURST)]
    with ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(lambda n: upload(clients[n], files[n]), range(BURST)))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {302, 503} and 302 in statuses
    for answer in answers:
        if answer.status_code == 503:  # refused at once, saying why
            assert "Too many files are being converted" in answer.get_data(as_text=True)
    with console.app.app_context():
        queue = conversion_queue()
    assert queue.at_once == ConsoleSettings().diagram_conversions == 2
    assert 1 <= queue.most_running <= 2


def test_a_full_queue_refuses_as_busy(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    full = ConversionQueue(at_once=1)
    console.app.extensions[QUEUE_KEY] = full
    client = client_for(console, "prosecutor")
    client.get("/language/en")
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with full.turn():
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(5)
        refused = upload(client, png_bytes())
        assert holder.is_alive()  # answered while the slot was still taken: it did not wait
        assert refused.status_code == 503
        assert "Too many files are being converted" in refused.get_data(as_text=True)
    finally:
        release.set()
        holder.join()
    assert upload(client, png_bytes()).status_code == 302  # its turn came
