"""The review player in real Chromium (Debian's, headless, via Playwright) with one segment
of a sealed session altered on disk: it plays up to that segment, stops there and shows
the warning in the page's language, and never asks for the refused segment again. The
console runs under waitress, as in production. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.support.browser import log_in, shot, wait_js
from tests.support.clips import custody, record_long_session
from tests.support.console import build_console
from tests.support.evidence import segment_media

pytestmark = pytest.mark.slow
REFUSED = 2  # the segment altered on disk: it starts at 0:02 of the session
TAIL = 0.1  # the segment before it ends a few ms late (its last AAC frame)
VIDEO = "document.getElementById('player')"


@dataclass(frozen=True)
class Tampered:
    base: str
    session_id: str
    app: Flask


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tampered]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("review-browser") / "data")
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, 4)]
    session_id = record_long_session(console.data, "hanoi-bd", media)
    stored = console.data.store().path(f"sessions/{session_id}/segments/{REFUSED:06d}.mp4")
    body = bytearray(stored.read_bytes())
    body[len(body) // 2] ^= 0x01  # one flipped bit, same size
    stored.chmod(0o644)
    stored.write_bytes(bytes(body))
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield Tampered(f"http://127.0.0.1:{server.effective_port}", session_id, console.app)
    finally:
        server.close()


def segment_requests(page: Any) -> list[str]:
    asked: list[str] = []

    def note(request: Any) -> None:
        path = urlsplit(request.url).path
        if "/segments/" in path:
            asked.append(path.rsplit("/", 1)[-1])

    page.on("request", note)
    return asked


@pytest.mark.parametrize(
    ("language", "warning"),
    [("vi", "Đã dừng phát tại 00:00:02.000"), ("en", "Playback stopped at 00:00:02.000")],
)
def test_the_review_player_stops_at_a_tampered_segment_with_a_warning(
    tampered: Tampered, browser: Any, language: str, warning: str
) -> None:
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    log_in(page, tampered.base, "prosecutor")
    page.goto(f"{tampered.base}/language/{language}")
    refusals_before = len(custody(tampered.app, "playback_refused", tampered.session_id))
    asked = segment_requests(page)
    page.goto(f"{tampered.base}/sessions/{tampered.session_id}")
    page.evaluate(f"() => {{ {VIDEO}.muted = true; {VIDEO}.play(); }}")
    # It plays the intact segments before the altered one, then stops there by itself.
    wait_js(page, f"{VIDEO}.paused && {VIDEO}.currentTime > 1.5", timeout=30)
    page.wait_for_selector("#player-refused:not([hidden])")
    stopped_at = page.evaluate(f"() => {VIDEO}.currentTime")
    assert stopped_at < REFUSED + TAIL
    notice = page.inner_text("#player-refused")
    assert warning in notice
    shot(page, f"review-refused-{language}")

    # Asked to go on, it stays at the refused segment (the player pauses it at once).
    page.evaluate(f"() => {{ {VIDEO}.play().catch(() => null); }}")
    time.sleep(1)
    assert page.evaluate(f"() => {VIDEO}.paused")
    assert page.evaluate(f"() => {VIDEO}.currentTime") < REFUSED + TAIL
    assert page.evaluate(f"() => {VIDEO}.buffered.end({VIDEO}.buffered.length - 1)") < (
        REFUSED + TAIL
    )  # nothing of the refused segment reached the player
    assert asked.count(f"{REFUSED}.mp4") == 1  # refused once, never asked for again
    assert f"{REFUSED + 1}.mp4" not in asked  # nothing played on past it
    refusals = custody(tampered.app, "playback_refused", tampered.session_id)[refusals_before:]
    assert len(refusals) == 1 and refusals[0]["index"] == REFUSED
    context.close()
