"""A passthrough session on the review page, in real Chromium (Debian's, headless, via
Playwright): every camera and the sound play in step on the session's clock, the caption is
drawn from the sealed metadata, the layouts switch, and a track's segment altered on disk is
refused (409, logged) and stops playback at that point. Screenshots in test-artifacts/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from evidence_store.model import Manifest, SessionMetadata
from tests.support.browser import log_in, shot, wait_js
from tests.support.clips import custody
from tests.support.console import build_console, catalogue
from tests.support.ip_cameras.passthrough import cameras, record_passthrough

pytestmark = pytest.mark.slow
TAMPERED = ("cam2", 3)  # this track's segment is altered on disk: it starts near 0:07
TRACKS = "document.getElementById('tracks')"


@dataclass(frozen=True)
class Served:
    base: str
    session_id: str
    app: Flask
    manifest: Manifest


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("tracks-browser") / "data")
    metadata = SessionMetadata(case_number="VKS-16/2026", room="Phòng IP 2", unit="hanoi-bd")
    with cameras({}, {"audio": "none"}) as servers:
        writer = record_passthrough(
            console.data.store(), console.data.signer(), servers, metadata, seconds=10
        )
    body = (writer.path / "manifest.json").read_bytes()
    manifest = Manifest.parse(body, location="manifest.json")
    track, index = TAMPERED
    stored = writer.path / "segments" / track / f"{index:06d}.mp4"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, same size
    stored.chmod(0o644)
    stored.write_bytes(bytes(data))
    catalogue(console.app)  # written straight into the store: the catalog learns of it here
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"
        yield Served(base, writer.session_id, console.app, manifest)
    finally:
        server.close()


def test_every_track_plays_in_step_with_the_caption_drawn(served: Served, browser: object) -> None:
    context = browser.new_context(locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, served.base, "prosecutor")
    page.goto(f"{served.base}/sessions/{served.session_id}")
    wait_js(page, "window.sealroomPlayer !== undefined")
    page.click("[data-action=play]")
    wait_js(page, f"Number({TRACKS}.dataset.time) > 2.5", timeout=30)
    for _ in range(5):  # each camera where the sound is, on the session clock
        positions = page.evaluate("window.sealroomPlayer.positions()")
        assert positions["sound"] is not None, positions
        for track in ("cam1", "cam2"):
            assert positions[track] is not None, positions
            assert abs(positions[track] - positions["sound"]) < 0.2, positions
        page.wait_for_timeout(300)
    caption = page.inner_text(".tracks-caption")
    assert "Phòng IP 2" in caption and "VKS-16/2026" in caption and "GMT+7" in caption
    shot(page, "review-tracks-inset")
    page.click("[data-action=main-cam2]")
    assert page.evaluate(f"{TRACKS}.dataset.main") == "cam2"
    page.click("[data-action=layout-single]")
    assert page.evaluate(f"{TRACKS}.dataset.layout") == "single"
    page.click("[data-action=layout-side]")
    shot(page, "review-tracks-side")
    assert errors == []
    context.close()


def test_a_tracks_altered_segment_is_refused_and_playback_stops_there(
    served: Served, browser: object
) -> None:
    track, index = TAMPERED
    segment = next(s for s in served.manifest.segments if (s.track, s.index) == (track, index))
    page = browser.new_page()  # type: ignore[attr-defined]
    log_in(page, served.base, "prosecutor")
    page.goto(f"{served.base}/sessions/{served.session_id}")
    wait_js(page, "window.sealroomPlayer !== undefined")
    page.evaluate(f"window.sealroomPlayer.seekTo({segment.start_us / 1e6 - 1.0})")
    page.click("[data-action=play]")
    failed = f".track-tile[data-track={track}].failed"
    page.wait_for_selector(failed, timeout=30_000)
    notice = page.inner_text(f"{failed} .track-card")
    whole = int(segment.start_us // 1_000_000)  # the notice says where playback stopped
    assert f"00:00:{whole:02d}" in notice, notice
    # Playback goes up to where the refused segment begins, and stops there.
    wait_js(page, f"{TRACKS}.dataset.playing === 'false'", timeout=30)
    stopped = page.evaluate(f"Number({TRACKS}.dataset.time)")
    assert abs(stopped - segment.start_us / 1e6) < 0.2, stopped
    page.click("[data-action=play]")  # and does not play on past it
    page.wait_for_timeout(1000)
    assert page.evaluate(f"Number({TRACKS}.dataset.time)") == stopped
    shot(page, "review-tracks-refused")
    refused = custody(served.app, "playback_refused")
    assert any(f"{track}/{index:06d}.mp4" in str(e) for e in refused), refused
