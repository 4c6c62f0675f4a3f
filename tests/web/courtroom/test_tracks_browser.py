"""A clip of a passthrough session on the court screens, in real Chromium: the presenter
presents it, the audience screen plays every camera of the clip's span and its sound in step
(the multi-track player), with the caption drawn from the sealed metadata, and follows pause
and seek. The clip's own page plays it the same way. Screenshots in test-artifacts/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from evidence_store.model import SessionMetadata
from tests.support.browser import log_in, shot, wait_js
from tests.support.clips import client_for, clip_id_of, make_clip
from tests.support.console import build_console, catalogue
from tests.support.hearings import add_exhibit, exhibit_ids, new_hearing
from tests.support.ip_cameras.passthrough import cameras, record_passthrough

pytestmark = pytest.mark.slow
PLAYER = "window.sealroomAudience.player()"


@dataclass(frozen=True)
class Court:
    base: str
    hearing_id: int
    entry: int
    clip_id: int


@pytest.fixture(scope="module")
def court(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Court]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("court-tracks") / "data")
    metadata = SessionMetadata(case_number="VKS-7/2026", room="Phòng IP 3", unit="hanoi-bd")
    with cameras({}, {"audio": "none"}) as servers:
        writer = record_passthrough(
            console.data.store(), console.data.signer(), servers, metadata, seconds=10
        )
    catalogue(console.app)  # written straight into the store: the catalog learns of it here
    prosecutor = client_for(console.app, "prosecutor")
    status, clip = make_clip(prosecutor, writer.session_id, "0:03", "0:08", title="Hai góc")
    assert status == 302, clip
    clerk = client_for(console.app, "court-clerk")
    hearing_id = new_hearing(clerk, case="VKS-7/2026")
    add_exhibit(clerk, hearing_id, f"clip-{clip_id_of(clip)}")
    (entry,) = exhibit_ids(console.app, hearing_id)
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield Court(
            f"http://127.0.0.1:{server.effective_port}", hearing_id, entry, clip_id_of(clip)
        )
    finally:
        server.close()


def assert_in_step(page: object, expression: str) -> None:
    positions = page.evaluate(f"{expression}.positions()")  # type: ignore[attr-defined]
    assert positions["sound"] is not None, positions
    for track in ("cam1", "cam2"):
        assert positions[track] is not None, positions
        assert abs(positions[track] - positions["sound"]) < 0.2, positions


def test_the_audience_screen_plays_every_track_of_the_clip_in_step(
    court: Court, browser: object
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    presenter = context.new_page()
    log_in(presenter, court.base, "court-clerk")
    presenter.goto(f"{court.base}/hearings/{court.hearing_id}/present")
    with context.expect_page() as opened:
        presenter.click("#open-audience")
    audience = opened.value
    audience.wait_for_load_state()
    wait_js(audience, "document.getElementById('audience').dataset.live === 'true'", timeout=15)
    presenter.click(f"button.present[data-exhibit-id='{court.entry}']")
    wait_js(audience, f"{PLAYER} && {PLAYER}.tracks && !{PLAYER}.video.paused", timeout=20)
    wait_js(audience, f"{PLAYER}.position() > 1.5", timeout=20)
    for _ in range(3):
        assert_in_step(audience, f"{PLAYER}.tracks")
        audience.wait_for_timeout(300)
    caption = audience.inner_text(".tracks-caption")
    assert "Phòng IP 3" in caption and "VKS-7/2026" in caption, caption
    audience.screenshot(path="test-artifacts/court-tracks-audience.png")
    presenter.click("#pause")
    wait_js(audience, f"{PLAYER}.video.paused", timeout=10)
    presenter.evaluate(
        "() => { const s = document.getElementById('seek'); s.value = '1';"
        " s.dispatchEvent(new Event('change')); }"
    )
    wait_js(audience, f"Math.abs({PLAYER}.position() - 1) < 0.3", timeout=10)
    shot(presenter, "court-tracks-presenter")
    context.close()


def test_the_clip_page_plays_every_track_in_step(court: Court, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    log_in(page, court.base, "prosecutor")
    page.goto(f"{court.base}/clips/{court.clip_id}")
    wait_js(page, "window.sealroomClip && window.sealroomClip.tracks !== undefined")
    page.click("#clip-tracks [data-action=play]")
    wait_js(page, "window.sealroomClip.position() > 1.5", timeout=20)
    assert_in_step(page, "window.sealroomClip.tracks")
    shot(page, "clip-page-tracks")
