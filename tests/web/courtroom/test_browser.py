"""The two court screens in real Chromium: the presenter page (the clerk's laptop) opens the
audience page (the court screen) in the same browser context, and the audience follows every
command live through server-sent events. The console runs under waitress, as in production.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from PIL import Image

from tests.support.browser import log_in, shot, wait_js
from tests.support.clips import (
    client_for,
    clip_id_of,
    custody,
    make_clip,
    record_long_session,
)
from tests.support.console import build_console
from tests.support.evidence import segment_media
from tests.support.hearings import add_exhibit, exhibit_ids, new_hearing, post_json
from tests.support.paths import ARTIFACTS
from web.extensions import db
from web.models import HearingExhibit
from web.settings import ConsoleSettings

pytestmark = pytest.mark.slow
PLAY_BOUND_MS = 3000  # the issue asks for "within a second"; a loaded CI machine gets slack


@dataclass(frozen=True)
class Courtroom:
    base: str
    session_id: str
    short_clip_id: int  # 0:02.5 - 0:03.5 of the session: segments 2 and 3 only
    hearing_id: int
    clip_entry: int
    diagram_entry: int
    tamper_hearing_id: int  # a hearing whose clip's first segment a test alters on disk
    tamper_entry: int
    tamper_segment: Path
    tamper_clip_id: int  # the clip that hearing shows: 0:00 - 0:01.5, segments 0 and 1
    app: Flask


@pytest.fixture(scope="module")
def courtroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Courtroom]:
    from waitress.server import create_server

    # Screens closed by one test free their unit's stream slots (4) for the next one soon.
    quick = ConsoleSettings(stream_keepalive_seconds=2)
    console = build_console(tmp_path_factory.mktemp("courtroom") / "data", settings=quick)
    app = console.app
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, 6)]
    session_id = record_long_session(console.data, "hanoi-bd", media)
    prosecutor = client_for(app, "prosecutor")
    status, clip = make_clip(prosecutor, session_id, "0:00.5", "0:05.5", title="Lời khai")
    assert status == 302, clip
    status, short = make_clip(prosecutor, session_id, "0:02.5", "0:03.5", number="VC-2")
    assert status == 302, short
    clerk = client_for(app, "court-clerk")
    shapes = [
        {"type": "box", "x": 0.1, "y": 0.1, "w": 0.3, "h": 0.15, "text": "Nguyễn Văn A"},
        {"type": "box", "x": 0.6, "y": 0.6, "w": 0.3, "h": 0.15, "text": "Trần Thị B"},
        {"type": "arrow", "x1": 0.4, "y1": 0.2, "x2": 0.6, "y2": 0.65, "colour": "red"},
    ]
    drawn = post_json(clerk, "/diagrams/drawn", {"title": "Sơ đồ quan hệ", "shapes": shapes})
    assert drawn.status_code == 201, drawn.get_data(as_text=True)
    hearing_id = new_hearing(clerk, case="VKS-7/2026")
    add_exhibit(clerk, hearing_id, f"clip-{clip_id_of(clip)}")
    add_exhibit(clerk, hearing_id, f"diagram-{drawn.get_json()['id']}", "SĐ-1")
    clip_entry, diagram_entry = exhibit_ids(app, hearing_id)
    tamper_session = record_long_session(console.data, "hanoi-bd", media[:2])
    status, tamper_clip = make_clip(prosecutor, tamper_session, "0:00", "0:01.5", number="VC-T")
    assert status == 302, tamper_clip
    tamper_hearing = new_hearing(clerk, case="VKS-8/2026")
    add_exhibit(clerk, tamper_hearing, f"clip-{clip_id_of(tamper_clip)}", other_case=True)
    (tamper_entry,) = exhibit_ids(app, tamper_hearing)
    tamper_segment = console.data.store().path(f"sessions/{tamper_session}/segments/000000.mp4")

    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"
        yield Courtroom(
            base,
            session_id,
            clip_id_of(short),
            hearing_id,
            clip_entry,
            diagram_entry,
            tamper_hearing,
            tamper_entry,
            tamper_segment,
            clip_id_of(tamper_clip),
            app,
        )
    finally:
        server.close()


def all_black(page: object, name: str) -> bool:
    """Screenshot the page (kept as an artifact) and tell whether every pixel is black."""
    ARTIFACTS.mkdir(exist_ok=True)
    png = page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]
    bands: Any = Image.open(io.BytesIO(png)).convert("RGB").getextrema()  # per band (lo, hi)
    return all(high <= 8 for _low, high in bands)


def view_box(page: object) -> list[float]:
    text = page.evaluate(  # type: ignore[attr-defined]
        "() => { const svg = document.querySelector('#audience-diagram svg');"
        " return svg ? svg.getAttribute('viewBox') : ''; }"
    )
    return [float(v) for v in str(text).split()]


# How the players write the wall-clock time beside a time code.
WALL_CLOCK = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT([+-]\d{1,2}(:\d\d)?)?"


def test_presenter_drives_the_audience_screen(courtroom: Courtroom, browser: object) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    presenter = context.new_page()
    log_in(presenter, courtroom.base, "court-clerk")
    presenter.goto(f"{courtroom.base}/hearings/{courtroom.hearing_id}/present")
    with context.expect_page() as opened:
        presenter.click("#open-audience")
    audience = opened.value
    audience.wait_for_load_state()
    audience.set_viewport_size({"width": 960, "height": 540})
    wait_js(audience, "document.getElementById('audience').dataset.live === 'true'", timeout=15)
    assert all_black(audience, "present-01-audience-before")
    audience.evaluate(
        "() => { window.firstPlaying = 0; const v = document.getElementById('audience-video');"
        " v.addEventListener('playing', () => { if (!window.firstPlaying)"
        " window.firstPlaying = Date.now(); }); }"
    )

    # Present the clip: it is verified, and the court screen plays it.
    presenter.evaluate(
        "(id) => { window.clickedAt = Date.now();"
        " document.querySelector(`button.present[data-exhibit-id='${id}']`).click(); }",
        courtroom.clip_entry,
    )
    wait_js(audience, "window.firstPlaying > 0", timeout=20)
    latency_ms = audience.evaluate("() => window.firstPlaying") - presenter.evaluate(
        "() => window.clickedAt"
    )
    print(f"present -> audience 'playing': {latency_ms} ms")
    assert latency_ms < PLAY_BOUND_MS
    video = "document.getElementById('audience-video')"
    first = audience.evaluate(f"() => {video}.currentTime")
    wait_js(audience, f"{video}.currentTime > {first} + 0.5", timeout=10)
    assert audience.evaluate(f"() => {video}.src").startswith("blob:")  # the sealed segments
    presenter.wait_for_selector("#verification-result.ok")
    shot(presenter, "present-02-presenter-clip")
    audience.screenshot(path=str(ARTIFACTS / "present-03-audience-clip.png"))

    # Pause and seek follow; the clip stops at its end.
    presenter.click("#pause")
    wait_js(audience, f"{video}.paused", timeout=10)
    presenter.evaluate(  # the slider let go at 4 s into the clip
        "() => { const s = document.getElementById('seek'); s.value = '4';"
        " s.dispatchEvent(new Event('change')); }"
    )
    wait_js(audience, f"Math.abs({video}.currentTime - 4.5) < 0.3", timeout=10)  # in point 0.5
    # The presenter shows the session's clock (4 s into a clip starting at 0.5 s), as the
    # clip's page and the offline player do, with the wall-clock time beside it.
    position = "document.getElementById('position')"
    wait_js(presenter, f"{position}.textContent.startsWith('00:00:04.')", timeout=10)
    assert re.search(WALL_CLOCK, presenter.inner_text("#position")), presenter.inner_text(
        "#position"
    )
    presenter.click("#play")
    wait_js(audience, f"{video}.paused && {video}.currentTime >= 5.4", timeout=10)
    assert audience.evaluate(f"() => {video}.currentTime") <= 5.6  # not past the out point

    # Blank: the court screen shows nothing, and shows the clip again when un-blanked.
    presenter.click("#blank")
    wait_js(audience, "document.getElementById('audience').classList.contains('blank')")
    assert all_black(audience, "present-04-audience-blank")
    presenter.click("#unblank")
    wait_js(audience, "!document.getElementById('audience').classList.contains('blank')")
    assert not all_black(audience, "present-05-audience-unblanked")

    # A diagram, then zoom: drag a rectangle on the presenter's copy.
    presenter.click(f"button.present[data-exhibit-id='{courtroom.diagram_entry}']")
    wait_js(audience, "document.querySelector('#audience-diagram svg') !== null", timeout=10)
    whole = view_box(audience)
    assert whole[:2] == [0, 0]
    # The annotation boxes only tint what they mark: the diagram under them stays visible.
    opacities = audience.evaluate(
        "() => Array.from(document.querySelectorAll('#audience-diagram [data-type=box] rect'))"
        ".map(r => Number(getComputedStyle(r).fillOpacity))"
    )
    assert len(opacities) == 2 and all(o <= 0.3 for o in opacities), opacities
    assert audience.evaluate(f"() => {video}.paused")  # the clip is gone with its sound
    page = presenter.locator("#preview-diagram svg").bounding_box()
    assert page is not None
    # The picture is letterboxed in its stage: find the page's own box from the aspect.
    scale = min(page["width"] / whole[2], page["height"] / whole[3])
    left = page["x"] + (page["width"] - whole[2] * scale) / 2
    top = page["y"] + (page["height"] - whole[3] * scale) / 2
    presenter.mouse.move(left + 0.5 * whole[2] * scale, top + 0.5 * whole[3] * scale)
    presenter.mouse.down()
    presenter.mouse.move(left + 0.7 * whole[2] * scale, top + 0.7 * whole[3] * scale, steps=5)
    presenter.mouse.move(left + 0.9 * whole[2] * scale, top + 0.9 * whole[3] * scale, steps=5)
    presenter.mouse.up()
    wait_js(audience, "document.getElementById('audience-diagram').dataset.zoom !== ''")
    zoomed = view_box(audience)
    expected = [0.5 * whole[2], 0.5 * whole[3], 0.4 * whole[2], 0.4 * whole[3]]
    assert all(abs(a - b) <= 0.02 * whole[2] for a, b in zip(zoomed, expected, strict=True)), (
        zoomed,
        expected,
    )
    time.sleep(0.3)  # let the picture settle for the screenshot
    shot(presenter, "present-06-presenter-zoom")
    audience.screenshot(path=str(ARTIFACTS / "present-07-audience-zoom.png"))

    # A callout: type its text, click the spot.
    presenter.fill("#callout-text", "Người làm chứng")
    presenter.mouse.click(left + 0.7 * whole[2] * scale, top + 0.75 * whole[3] * scale)
    wait_js(audience, "document.querySelectorAll('#audience-diagram .callouts g').length === 1")
    assert "Người làm chứng" in audience.inner_text("#audience-diagram")
    audience.screenshot(path=str(ARTIFACTS / "present-08-audience-callout.png"))
    presenter.click("#zoom-reset")
    wait_js(audience, "document.getElementById('audience-diagram').dataset.zoom === ''")
    assert view_box(audience) == whole

    # A reloaded court screen resumes what is shown.
    audience.reload()
    wait_js(audience, "document.querySelector('#audience-diagram svg') !== null", timeout=10)
    assert len(audience.query_selector_all("#audience-diagram .callouts g")) == 1
    context.close()


def test_a_clip_is_marked_on_the_session_page_and_plays_only_its_span(
    courtroom: Courtroom, browser: object
) -> None:
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, courtroom.base, "prosecutor")
    page.goto(f"{courtroom.base}/sessions/{courtroom.session_id}")
    page.evaluate("() => { document.getElementById('player').currentTime = 2.25; }")
    wait_js(page, "document.getElementById('player').currentTime > 2.2")
    page.click("button[data-mark='clip-start']")
    assert page.input_value("#clip-start") == "00:00:02.250"
    page.evaluate("() => { document.getElementById('player').currentTime = 3.5; }")
    wait_js(page, "document.getElementById('player').currentTime > 3.4")
    page.click("button[data-mark='clip-end']")
    page.click("#clip-define")
    page.wait_for_selector("#clip-form")
    assert page.input_value("#clip-start") == "00:00:02.250"
    assert page.input_value("#clip-end") == "00:00:03.500"

    # A clip plays only the segments it covers, from its start, and stops at its end.
    page.goto("about:blank")  # the pages before played the whole session
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{courtroom.base}/clips/{courtroom.short_clip_id}")
    video = "document.getElementById('clip-player')"
    wait_js(page, f"{video}.readyState >= 2", timeout=20)
    assert abs(page.evaluate(f"() => {video}.currentTime") - 0.5) < 0.05  # 2.5 s - segment 2
    page.evaluate(f"() => {{ {video}.muted = true; {video}.play(); }}")
    wait_js(page, f"{video}.paused && {video}.currentTime >= 1.45", timeout=15)
    assert page.evaluate(f"() => {video}.currentTime") <= 1.6  # 3.5 s: not past the end
    segments = {url.rsplit("/", 1)[-1] for url in requested if "/segments/" in url}
    assert segments == {"2.mp4", "3.mp4"}
    # One time code: the session's clock, hh:mm:ss.mmm, the wall-clock time beside it.
    assert page.inner_text("#clip-start") == "00:00:02.500"
    assert page.inner_text("#clip-end") == "00:00:03.500"
    span = page.inner_text("#clip-span")
    assert len(re.findall(WALL_CLOCK, span)) == 2, span
    wait_js(page, "document.getElementById('clip-position').textContent.startsWith('00:00:03.')")
    shown = page.inner_text("#clip-position")
    day = re.search(WALL_CLOCK, span)
    assert day and day.group(0)[:10] in shown and re.search(WALL_CLOCK, shown), shown
    shot(page, "present-09-clip-page")
    context.close()


def test_a_segment_altered_while_shown_turns_both_screens_to_the_notice(
    courtroom: Courtroom, browser: object
) -> None:
    """Verified when presented, altered afterwards: the court screen's next fetch of it is
    refused, and both screens (the presenter's preview following the event stream, not a
    command of its own) show the neutral notice instead of the clip."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    presenter = context.new_page()
    log_in(presenter, courtroom.base, "prosecutor")  # its own streams: not the clerk's share
    presenter.goto(f"{courtroom.base}/hearings/{courtroom.tamper_hearing_id}/present")
    presenter.uncheck("#autoplay")
    presenter.click(f"button.present[data-exhibit-id='{courtroom.tamper_entry}']")
    presenter.wait_for_selector("#verification-result.ok")
    audience = context.new_page()
    audience.goto(f"{courtroom.base}/hearings/{courtroom.tamper_hearing_id}/audience")
    video = "document.getElementById('audience-video')"
    wait_js(audience, f"{video}.readyState >= 2", timeout=20)  # the intact clip is on screen
    wait_js(presenter, "document.getElementById('preview').dataset.live === 'true'")

    original = courtroom.tamper_segment.read_bytes()
    courtroom.tamper_segment.chmod(0o644)
    courtroom.tamper_segment.write_bytes(b"FORGED" + original[6:])
    try:
        audience.reload()  # the court screen fetches the clip's segments again
        wait_js(audience, "document.getElementById('audience').dataset.kind === 'unverified'")
        notice = audience.inner_text("#audience-notice")
        assert "VC-T" in notice  # the exhibit number and the neutral notice, nothing else
        assert audience.evaluate(f"() => !{video}.getAttribute('src')")  # no media left
        wait_js(presenter, "document.getElementById('preview').dataset.kind === 'unverified'")
        assert presenter.inner_text("#preview-notice") == notice
        assert presenter.inner_text("#status") == notice
        # the "intact" result of the earlier check no longer stands beside it
        assert presenter.evaluate("() => document.getElementById('verification').hidden")
        audience.screenshot(path=str(ARTIFACTS / "present-10-audience-refused.png"))
        shot(presenter, "present-11-presenter-refused")
    finally:
        courtroom.tamper_segment.write_bytes(original)
    context.close()


def segment_requests(page: object) -> list[str]:
    """The clip segment URLs the page asks for, as it asks."""
    asked: list[str] = []

    def note(request: Any) -> None:
        if "/segments/" in urlsplit(request.url).path:  # not the login page it may lead to
            asked.append(request.url)

    page.on("request", note)  # type: ignore[attr-defined]
    return asked


def test_a_refused_segment_is_asked_for_once_and_logged_once(
    courtroom: Courtroom, browser: object
) -> None:
    """A segment that does not match its seal answers 409: the clip page shows the console's
    message and asks for nothing more, and the refusal is one custody event, not a flood."""
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, courtroom.base, "prosecutor")
    session_id = courtroom.tamper_segment.parent.parent.name
    logged = len(custody(courtroom.app, "playback_refused", session_id))
    original = courtroom.tamper_segment.read_bytes()
    courtroom.tamper_segment.chmod(0o644)
    courtroom.tamper_segment.write_bytes(b"FORGED" + original[6:])
    asked = segment_requests(page)
    try:
        page.goto(f"{courtroom.base}/clips/{courtroom.tamper_clip_id}")
        page.wait_for_selector("#clip-refused:not([hidden])")
        time.sleep(3)  # a player that retried would ask hundreds of times meanwhile
        assert page.inner_text("#clip-refused").strip()
        shot(page, "present-12-clip-refused")
    finally:
        courtroom.tamper_segment.write_bytes(original)
    assert len(asked) == 1, asked
    refusals = custody(courtroom.app, "playback_refused", session_id)[logged:]
    assert len(refusals) == 1 and refusals[0]["clip_id"] == courtroom.tamper_clip_id
    context.close()


def test_a_segment_that_cannot_be_fetched_is_asked_for_less_and_less_often(
    courtroom: Courtroom, browser: object
) -> None:
    """Not a refusal (here the login ended, so the segment's URL leads to the login page):
    the player tries again after 0.5 s, 1 s, 2 s, ... instead of hammering the console."""
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, courtroom.base, "prosecutor")
    held: list[Any] = []  # the first ask is held back until the login has ended
    page.route("**/segments/*.mp4", lambda route: held.append(route) if not held else None)
    asked = segment_requests(page)
    page.goto(f"{courtroom.base}/clips/{courtroom.short_clip_id}")
    wait_js(page, "document.getElementById('clip-player').src !== ''")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the player asked for no segment"
    other = context.new_page()  # the same login, in another tab: log out there
    other.goto(f"{courtroom.base}/clips/")
    other.click("form[action$='/logout'] button")
    page.unroute("**/segments/*.mp4")  # the held ask now reaches the console, as do the next
    page.wait_for_timeout(3000)
    # 0, 0.5, 1.5, 3.5 s: four asks at most in three seconds (hundreds without backing off)
    assert 1 <= len(asked) <= 5, asked
    context.close()


def out_of_view(page: object, selectors: list[str], height: int) -> dict[str, Any]:
    """The selectors whose element is not wholly on screen (page not scrolled)."""
    found: dict[str, Any] = {}
    for selector in selectors:
        box = page.locator(selector).bounding_box()  # type: ignore[attr-defined]
        if box is None or box["y"] < 0 or box["y"] + box["height"] > height:
            found[selector] = box
    return found


def test_the_presenters_controls_are_in_view_on_a_1280x800_screen(
    courtroom: Courtroom, browser: object
) -> None:
    """The clerk's laptop (1280×800): with a clip presented and its verification shown, then
    a diagram, every control of the presenter is on screen without scrolling, with a long
    exhibit list too; the preview keeps a useful size. Screenshots of the screen as seen."""
    clerk = client_for(courtroom.app, "court-clerk")
    with courtroom.app.app_context():
        entry = db.session.get(HearingExhibit, courtroom.diagram_entry)
        assert entry is not None and entry.diagram_id is not None
        diagram = entry.diagram_id
    long_list = new_hearing(clerk, case="VKS-7/2026")
    for n in range(14):
        assert add_exhibit(clerk, long_list, f"diagram-{diagram}", f"SĐ-{n}").status_code == 302
    height = 800
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, courtroom.base, "court-clerk")
    screen = ["#open-audience", "#blank", "#withdraw"]
    clip = ["#back", "#play", "#pause", "#forward", "#seek", "#position"]
    diagram_controls = ["#callout-text", "#zoom-reset", "#callouts-clear"]
    try:
        page.goto(f"{courtroom.base}/hearings/{courtroom.hearing_id}/present")
        page.uncheck("#autoplay")
        page.click(f"button.present[data-exhibit-id='{courtroom.clip_entry}']")
        page.wait_for_selector("#verification-result.ok")
        page.wait_for_selector("#play", state="visible")
        page.screenshot(path=str(ARTIFACTS / "present-13-presenter-1280x800-clip.png"))
        presents = [f"button.present[data-exhibit-id='{i}']" for i in exhibit_ids_of(page)]
        assert out_of_view(page, [*screen, *clip, *presents, "#verification"], height) == {}
        assert page.evaluate("() => document.scrollingElement.scrollHeight") <= height
        stage = page.locator("#preview").bounding_box()
        assert stage is not None and stage["height"] >= 300 and stage["width"] >= 530, stage

        page.click(f"button.present[data-exhibit-id='{courtroom.diagram_entry}']")
        page.wait_for_selector("#zoom-reset", state="visible")
        page.screenshot(path=str(ARTIFACTS / "present-14-presenter-1280x800-diagram.png"))
        assert out_of_view(page, screen + diagram_controls, height) == {}

        # Fourteen exhibits: the list scrolls in its column, the screen's controls stay put.
        page.goto(f"{courtroom.base}/hearings/{long_list}/present")
        page.screenshot(path=str(ARTIFACTS / "present-15-presenter-1280x800-long-list.png"))
        assert out_of_view(page, screen, height) == {}
        assert page.evaluate("() => document.scrollingElement.scrollHeight") <= height
        last = page.locator("#present-list li").last
        last.scroll_into_view_if_needed()
        assert out_of_view(page, [*screen, "#present-list li:last-child button"], height) == {}
    finally:
        page.goto(f"{courtroom.base}/hearings/{courtroom.hearing_id}/present")
        page.click("#withdraw")  # the court screen as it was
        context.close()


def exhibit_ids_of(page: object) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined, no-any-return]
        "button.present", "buttons => buttons.map(b => b.dataset.exhibitId)"
    )
