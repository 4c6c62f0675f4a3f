"""Review keeps your place, in real Chromium (Debian's, headless, via Playwright) against the
console under waitress: a bookmark is stamped at the click and saved without a reload, shown
as a mark on the timeline that seeks; speed, frame step and keys; "verify now" answers in
the page; the list then shows the verdict. Shared bookmarks reach the case's team."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.browser import log_in, shot, wait_js
from tests.support.clips import record_long_session
from tests.support.console import build_console
from tests.support.evidence import segment_media

pytestmark = pytest.mark.slow
VIDEO = "document.getElementById('player')"
FPS = 15  # the recorded media's frame rate (tests.support.console.MEDIA)


@dataclass(frozen=True)
class Served:
    base: str
    session_id: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("review-place") / "data")
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, 3)]
    session_id = record_long_session(console.data, "hanoi-bd", media)
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield Served(f"http://127.0.0.1:{server.effective_port}", session_id)
    finally:
        server.close()


def _seek(page: Any, seconds: float) -> None:
    page.evaluate(f"() => {{ {VIDEO}.pause(); {VIDEO}.currentTime = {seconds}; }}")
    wait_js(page, f"!{VIDEO}.seeking && Math.abs({VIDEO}.currentTime - {seconds}) < 0.01")


def test_review_keeps_the_place(served: Served, browser: Any) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, served.base, "prosecutor")
    page.goto(f"{served.base}/sessions/{served.session_id}")
    page.evaluate(f"() => {{ {VIDEO}.muted = true; window.samePage = true; }}")
    wait_js(page, f"{VIDEO}.readyState >= 1")

    # The moment is the one at the click, not at the save.
    _seek(page, 1.0)
    page.click("#bookmark-mark")
    assert page.inner_text("#bookmark-at") == "00:00:01.000"
    _seek(page, 2.5)
    page.fill("#bookmark-note", "bị can khai lần đầu")
    scrolled = page.evaluate("() => window.scrollY")
    page.click("#bookmark-save")
    page.wait_for_selector("#bookmark-list li a.seek")
    assert page.inner_text("#bookmark-list li a.seek") == "00:00:01.000"
    assert page.evaluate("() => window.samePage === true")  # no reload
    assert page.evaluate("() => window.scrollY") == scrolled
    assert page.evaluate(f"() => {VIDEO}.currentTime") == pytest.approx(2.5, abs=0.01)

    # The mark on the timeline seeks there.
    assert page.locator("#markers .marker").count() == 1
    page.click("#markers .marker")
    wait_js(page, f"!{VIDEO}.seeking && Math.abs({VIDEO}.currentTime - 1.0) < 0.01")

    # Speed, by the menu and by the keys; frame step by a button and a key.
    page.select_option("#speed", "1.5")
    assert page.evaluate(f"() => {VIDEO}.playbackRate") == 1.5
    page.locator("body").press("]")
    assert page.evaluate(f"() => {VIDEO}.playbackRate") == 2
    page.click("#frame-forward")
    wait_js(page, f"!{VIDEO}.seeking")
    assert page.evaluate(f"() => {VIDEO}.currentTime") == pytest.approx(1 + 1 / FPS, abs=0.01)
    page.locator("body").press(",")
    wait_js(page, f"!{VIDEO}.seeking")
    assert page.evaluate(f"() => {VIDEO}.currentTime") == pytest.approx(1.0, abs=0.01)

    # Verify now answers in the page, which stays where it was.
    page.click("#verify-now")
    page.wait_for_selector("#verify-live:not([hidden])", timeout=30_000)
    assert "NGUYÊN VẸN" in page.inner_text("#verify-live")
    assert page.evaluate("() => window.samePage === true")
    assert page.evaluate(f"() => {VIDEO}.currentTime") == pytest.approx(1.0, abs=0.01)
    shot(page, "review-keeps-the-place")

    page.goto(f"{served.base}/sessions/")
    row = page.inner_text(f"#sessions tr:has(a[href$='{served.session_id}'])")
    assert "NGUYÊN VẸN" in row and "đã niêm phong" in row
    context.close()

    # The case's team sees the shared bookmark on its timeline.
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    log_in(page, served.base, "supervisor")
    page.goto(f"{served.base}/sessions/{served.session_id}")
    assert "bị can khai lần đầu" in page.inner_text("#bookmarks")
    assert page.locator("#markers .marker").count() == 1
    assert page.locator("#bookmark-list form.bookmark-delete").count() == 0  # not theirs
    context.close()
