"""The session page of a session with one flipped byte, as a prosecutor sees it in real
Chromium at 1280x800 (Debian's, headless, via Playwright; the console under waitress):

- the warning is on screen without scrolling, above the picture; the seek bar marks the
  refused segment's span; the session's state turns at once to the list's failed wording;
- the refusal found by the player loading ahead says so in custody (nobody pressed play);
- the "last verification" line follows the refusal at once, as the console words it;
- "verify now" fills its progress bar with the bytes hashed (values the page set, recorded as
  it sets them), up to 100 %, then rewrites the "last verification" line (verdict, the
  console's time, source), without a reload;
- bookmarks sit on the one seek bar, exactly where a click on it seeks.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.support.browser import log_in, wait_js
from tests.support.clips import custody, record_long_session
from tests.support.console import build_console
from tests.support.evidence import segment_media
from tests.support.paths import ARTIFACTS
from web.audit import custody_log
from web.display import localtime

pytestmark = pytest.mark.slow
SEGMENTS = 4
REFUSED = 2  # the segment with the flipped byte: 0:02 to 0:03 of the session
VIDEO = "document.getElementById('player')"
PREFETCHED = "trình phát tải trước"
# Every value the page gives the progress bar, with its max; every text of the percentage.
RECORD_THE_BAR = """() => {
  const bar = document.getElementById('verify-progress');
  const own = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value');
  window.barValues = [];
  Object.defineProperty(bar, 'value', {
    configurable: true,
    get() { return own.get.call(this); },
    set(v) { window.barValues.push([v, this.max]); own.set.call(this, v); },
  });
  const percent = document.getElementById('verify-percent');
  window.percentTexts = [];
  // Each text set, not only the last of a batch: the nodes each setting added.
  new MutationObserver((records) => records.forEach((r) =>
    r.addedNodes.forEach((node) => window.percentTexts.push(node.textContent))
  )).observe(percent, { childList: true });
}"""
SCREEN = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Tampered:
    base: str
    session_id: str
    app: Flask


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tampered]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("tampered-page") / "data")
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, SEGMENTS)]
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


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return dict(box)


def test_the_refusal_shows_at_once_where_the_player_is(tampered: Tampered, browser: Any) -> None:
    context = browser.new_context(locale="vi-VN", viewport=SCREEN)
    page = context.new_page()
    log_in(page, tampered.base, "prosecutor")
    ARTIFACTS.mkdir(exist_ok=True)
    served = page.goto(f"{tampered.base}/sessions/{tampered.session_id}")
    assert "đã niêm phong" in served.text()  # nothing was found yet when the page was made
    assert PREFETCHED not in served.text()
    # Nobody presses play: the player loads ahead, and is refused the altered segment.
    page.wait_for_selector("#player-refused:not([hidden])")
    assert page.evaluate("() => window.scrollY") == 0
    notice = _box(page, "#player-refused")
    assert notice["y"] >= 0 and notice["y"] + notice["height"] <= SCREEN["height"]
    assert "Đã dừng phát tại 00:00:02.000" in page.inner_text("#player-refused")
    # The state at the top of the page is the list's after a failed verification, at once.
    assert page.inner_text("#shown-state") == "bị can thiệp"
    assert page.get_attribute("#shown-state", "class") == "bad"
    # The seek bar marks the refused span: 2 s to 3 s of 4 s.
    bar = _box(page, "#seekbar")
    span = _box(page, "#seekbar .refused-span")
    assert span["x"] == pytest.approx(bar["x"] + bar["width"] * REFUSED / SEGMENTS, abs=1)
    assert span["width"] == pytest.approx(bar["width"] / SEGMENTS, abs=1)
    page.screenshot(path=str(ARTIFACTS / "review-tampered-1280x800.png"))  # the screen only
    assert bar["y"] + bar["height"] <= SCREEN["height"]  # the seek bar is on screen too
    refused = custody(tampered.app, "playback_refused", tampered.session_id)
    assert [(r["index"], r["requested_by"]) for r in refused] == [(REFUSED, "prefetch")]
    # The "last verification" line says what the console now holds: this refusal.
    wait_js(
        page, f"document.getElementById('last-verification').innerText.includes('{PREFETCHED}')"
    )
    line = page.inner_text("#last-verification")
    assert "BỊ CAN THIỆP" in line and f"segments/{REFUSED:06d}.mp4" in line
    assert "prosecutor" in line
    context.close()


def test_verify_now_rewrites_the_last_verification_line(tampered: Tampered, browser: Any) -> None:
    context = browser.new_context(locale="vi-VN", viewport=SCREEN)
    page = context.new_page()
    log_in(page, tampered.base, "auditor")
    page.goto(f"{tampered.base}/sessions/{tampered.session_id}")
    page.evaluate("() => { window.samePage = true; }")
    before = page.inner_text("#last-verification")
    assert PREFETCHED in before and "kiểm tra ngay" not in before
    page.evaluate(RECORD_THE_BAR)
    page.click("#verify-now")
    page.wait_for_selector("#verify-live:not([hidden])", timeout=30_000)
    # The bar was set with the bytes hashed: steps between 0 and the whole, rising to it.
    values = page.evaluate("() => window.barValues")
    assert values and all(top == values[0][1] > 0 for _, top in values)
    top = values[0][1]
    assert [v for v, _ in values] == sorted(v for v, _ in values)
    assert any(0 < v < top for v, _ in values) and values[-1][0] == top
    texts = page.evaluate("() => window.percentTexts")
    assert texts[-1] == "Đang kiểm tra… 100 %"
    assert any(re.fullmatch(r"Đang kiểm tra… [1-9]\d? %", t) for t in texts)
    assert page.is_hidden("#verify-progress") and page.is_hidden("#verify-percent")
    with tampered.app.test_request_context():
        verified = custody_log().entries(session_id=tampered.session_id, action="verify")[-1]
        at = localtime(verified.at)  # the console's time zone and format
    after = page.inner_text("#last-verification")
    assert page.evaluate("() => window.samePage === true")  # no reload
    assert "BỊ CAN THIỆP" in after and at in after and "kiểm tra ngay" in after
    assert "auditor" in after and f"segments/{REFUSED:06d}.mp4" in after
    context.close()


def test_bookmarks_sit_on_the_seek_bar_where_it_seeks(tampered: Tampered, browser: Any) -> None:
    context = browser.new_context(locale="vi-VN", viewport=SCREEN)
    page = context.new_page()
    log_in(page, tampered.base, "prosecutor")
    page.goto(f"{tampered.base}/sessions/{tampered.session_id}")
    wait_js(page, f"{VIDEO}.readyState >= 1")
    page.evaluate(f"() => {{ {VIDEO}.muted = true; {VIDEO}.currentTime = 1.5; }}")
    wait_js(page, f"!{VIDEO}.seeking")
    page.click("#bookmark-mark")
    page.fill("#bookmark-note", "mốc căn chỉnh")
    page.click("#bookmark-save")
    page.wait_for_selector("#markers .marker")

    page.locator("#seekbar").scroll_into_view_if_needed()
    bar = _box(page, "#seekbar")
    marks = _box(page, "#markers")
    video = _box(page, "#player")
    # The marks' layer is the seek bar's box, as wide as the picture.
    assert (marks["x"], marks["width"]) == pytest.approx((bar["x"], bar["width"]), abs=0.5)
    assert (bar["x"], bar["width"]) == pytest.approx((video["x"], video["width"]), abs=0.5)
    marker = _box(page, "#markers .marker")
    centre = marker["x"] + marker["width"] / 2
    assert centre == pytest.approx(bar["x"] + bar["width"] * 1.5 / SEGMENTS, abs=1)

    # A click on the bar at a fraction of it seeks to that fraction of the session...
    page.mouse.click(bar["x"] + bar["width"] * 0.25, bar["y"] + bar["height"] / 2)
    wait_js(page, f"!{VIDEO}.seeking && Math.abs({VIDEO}.currentTime - 1.0) < 0.02")
    # ...and a click on the mark seeks to the bookmark's moment.
    page.click("#markers .marker")
    wait_js(page, f"!{VIDEO}.seeking && Math.abs({VIDEO}.currentTime - 1.5) < 0.01")
    wait_js(page, "document.getElementById('seek-head').style.left !== '25%'")
    head = _box(page, "#seek-head")
    assert head["x"] + head["width"] / 2 == pytest.approx(centre, abs=1)
    context.close()


@pytest.fixture(scope="module")
def far(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tampered]:
    """A session whose altered segment lies beyond what the player loads ahead at first."""
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("tampered-far") / "data")
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, FAR_SEGMENTS)]
    session_id = record_long_session(console.data, "hanoi-bd", media)
    stored = console.data.store().path(f"sessions/{session_id}/segments/{FAR_REFUSED:06d}.mp4")
    body = bytearray(stored.read_bytes())
    body[len(body) // 2] ^= 0x01
    stored.chmod(0o644)
    stored.write_bytes(bytes(body))
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield Tampered(f"http://127.0.0.1:{server.effective_port}", session_id, console.app)
    finally:
        server.close()


FAR_SEGMENTS = 16
FAR_REFUSED = 14  # starts at 0:14, beyond the 12 s the player loads ahead of 0:00


def test_a_segment_refused_while_played_says_playback(far: Tampered, browser: Any) -> None:
    context = browser.new_context(locale="vi-VN", viewport=SCREEN)
    page = context.new_page()
    log_in(page, far.base, "prosecutor")
    page.goto(f"{far.base}/sessions/{far.session_id}")
    wait_js(page, f"{VIDEO}.readyState >= 1")
    page.wait_for_timeout(1000)  # what it loads ahead at first never reaches the altered part
    assert custody(far.app, "playback_refused", far.session_id) == []
    # The person moves the playhead into the altered segment: that part is being watched.
    page.locator("#seekbar").scroll_into_view_if_needed()
    bar = _box(page, "#seekbar")
    page.mouse.click(bar["x"] + bar["width"] * 14.5 / FAR_SEGMENTS, bar["y"] + bar["height"] / 2)
    page.wait_for_selector("#player-refused:not([hidden])")
    refused = custody(far.app, "playback_refused", far.session_id)
    assert [(r["index"], r["requested_by"]) for r in refused] == [(FAR_REFUSED, "playback")]
    context.close()
