"""Many people logging in at the same moment, after a session the console has not indexed
yet was recorded (their landing page indexes it), through a real threaded HTTP server: every
one of them gets in and sees the session, none gets an error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.console_load import User
from tests.support.console import build_console

USERS = 12


def test_concurrent_logins_index_a_new_session_once(tmp_path: Path) -> None:
    from waitress.server import create_server

    console = build_console(tmp_path / "data")
    server = create_server(console.app, host="127.0.0.1", port=0, threads=USERS)
    base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    threading.Thread(target=server.run, daemon=True).start()
    try:
        users = [User(base) for _ in range(USERS)]
        start = threading.Barrier(USERS)

        def first_view(user: User) -> int:
            start.wait()
            user.login("prosecutor")  # lands on the session list, which indexes
            return user.get(f"/sessions/{console.own_session}")[1]

        with ThreadPoolExecutor(USERS) as pool:
            sizes = list(pool.map(first_view, users))  # an HTTP error would raise here
    finally:
        server.close()
    assert all(size > 0 for size in sizes)
