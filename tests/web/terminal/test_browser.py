"""The room terminal and the wall of rooms in real Chromium, against the room's real recorder
service (synthetic devices, no upload destination, as under ``sealroom run``).

The terminal shows the right controls on its first paint (before any script), fits its top
bar at 1280×800, says why it is paused, writes numbers the Vietnamese way and says plainly
that nothing is uploaded; the seal sheet logs a print only when Print is pressed. The wall
shows times in the console's time zone and format whatever the browser's, a ticking elapsed
time, the last seal's time, and counts a room with an open integrity alarm as needing
attention, with why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from evidence_store import parse_utc
from recorder.control import RecorderClient
from tests.support.browser import free_port, log_in, wait_for, wait_js
from tests.support.console import Console, build_console, catalogue, login
from web.audit import custody_log
from web.recorders import room_key, room_token
from web.settings import ConsoleSettings

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1280, "height": 800}
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the console's default time zone
CONSOLE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
# Counts the page's print() calls instead of opening the print dialog.
COUNT_PRINTS = "window.print = function () { window.__prints = (window.__prints || 0) + 1; };"


@dataclass(frozen=True)
class Site:
    base: str
    console: Console
    recorder: RecorderClient
    data_dir: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from waitress.server import create_server

    root = tmp_path_factory.mktemp("terminal")
    data_dir = root / "data"
    recorder_port = free_port()
    recorder_url = f"http://127.0.0.1:{recorder_port}"
    console = build_console(data_dir, recorder_url=recorder_url)
    token = room_token(room_key(data_dir, ConsoleSettings()), "room1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    env["SEALROOM_RECORDER_TOKEN"] = token
    config = root / "recorder.toml"  # a small picture keeps the test light on two cores
    config.write_text("[recorder]\nwidth = 320\nheight = 240\nfps = 15\nsegment_seconds = 1\n")
    log = root / "recorder.log"
    with log.open("wb") as handle:
        recorder = subprocess.Popen(
            [
                *(sys.executable, "-m", "sealroom", "--config", str(config)),
                *("recorder", "serve", "--room", "Phòng 1", "--synthetic", "--unit", "hanoi"),
                *("--port", str(recorder_port), "--data-dir", str(data_dir)),
            ],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        wait_for(f"{recorder_url}/status", headers={"Authorization": f"Bearer {token}"})
        client = RecorderClient(recorder_url, token, timeout=120)
        yield Site(f"http://127.0.0.1:{server.effective_port}", console, client, data_dir)
    finally:
        print("--- recorder.log\n" + log.read_text(errors="replace")[-4000:])
        server.close()
        recorder.terminate()
        try:
            recorder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            recorder.kill()


def events(site: Site, action: str, session_id: str) -> list[dict[str, object]]:
    with site.console.app.app_context():
        return [
            {"actor": e.actor, **e.detail}
            for e in custody_log().entries(session_id=session_id, action=action)
        ]


def on_one_line(page: object, selector: str) -> bool:
    """Every child of ``selector`` starts on the same line."""
    tops = page.evaluate(  # type: ignore[attr-defined]
        f"Array.from(document.querySelector('{selector}').children)"
        ".map((e) => Math.round(e.getBoundingClientRect().top))"
    )
    return bool(tops) and max(tops) - min(tops) < 12


def test_the_terminal_shows_what_fits_the_state_and_prints_only_when_asked(
    site: Site, browser: object
) -> None:
    base = site.base
    # Without any script: what the server paints first must already be right.
    plain = browser.new_context(  # type: ignore[attr-defined]
        locale="vi-VN", viewport=VIEWPORT, java_script_enabled=False
    )
    first = plain.new_page()
    log_in(first, base, "investigator")
    first.goto(f"{base}/terminal/room1")
    assert first.is_visible("#start-link") and first.is_visible("#preview-idle")
    assert not first.is_visible("#pause") and not first.is_visible("#stop")

    context = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
    context.add_init_script(COUNT_PRINTS)
    page = context.new_page()
    log_in(page, base, "investigator")
    page.goto(f"{base}/terminal/room1")
    assert on_one_line(page, ".topbar"), "the top bar wraps at 1280×800"
    page.click("#start-link")
    page.fill("#case_number", "VKS-88/2026")
    page.fill("#accused", "Nguyễn Văn Án")
    page.fill("#investigators", "Trần Thị Bình")
    page.click("#start")
    page.wait_for_selector("#rec[data-state=recording]", timeout=30_000)
    wait_js(page, "Number(document.getElementById('segments').textContent) >= 2", timeout=60)
    wait_js(page, "document.querySelector('#devices li.working') !== null", timeout=30)
    devices = page.inner_text("#devices")
    assert "giây" in devices and not re.search(r"\d\.\d", devices), devices
    assert not re.search(r"\d\.\d", page.inner_text("#level-text"))
    # No upload destination (the embedded defaults have none): said, not a growing count.
    assert page.is_visible("#no-upload") and not page.is_visible("#backlog-figure")
    assert "Chưa cấu hình nơi tải lên" in page.inner_text("#no-upload")

    first.goto(f"{base}/terminal/room1")  # recording, still without script
    assert first.is_visible("#pause") and first.is_visible("#stop")
    assert not first.is_visible("#start-link") and "ĐANG GHI" in first.inner_text("#rec")

    page.fill("#pause-other", "Bị can xin gặp luật sư")
    page.click("#pause")
    page.wait_for_selector("#rec[data-state=paused]", timeout=30_000)
    assert page.is_visible("#paused-reason") and page.is_visible("#resume")
    assert "Bị can xin gặp luật sư" in page.inner_text("#paused-reason")
    first.goto(f"{base}/terminal/room1")
    assert "Bị can xin gặp luật sư" in first.inner_text("#paused-reason")
    assert first.is_visible("#resume") and not first.is_visible("#pause")
    plain.close()

    page.select_option("#stop-reason", index=1)
    page.click("#stop")
    page.click("#stop-confirm")
    page.wait_for_selector("#seal-sheet", timeout=60_000)
    session_id = page.url.rstrip("/").split("/")[-1]
    # Opening the sheet is a view, not a print; each press of Print is one print.
    assert events(site, "seal_sheet_printed", session_id) == []
    assert len(events(site, "seal_sheet_viewed", session_id)) == 1
    page.click("#print")
    wait_js(page, "window.__prints === 1", timeout=20)
    printed = events(site, "seal_sheet_printed", session_id)
    assert [e["actor"] for e in printed] == ["investigator"] and "reprint" not in printed[0]
    context.close()

    # A reprint from the session's page, by the prosecutor: the same, marked a reprint.
    catalogue(site.console.app)
    filing = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
    filing.add_init_script(COUNT_PRINTS)
    sheet = filing.new_page()
    log_in(sheet, base, "prosecutor")
    sheet.goto(f"{base}/sessions/{session_id}")
    sheet.click("#reprint-seal-sheet")
    sheet.wait_for_selector("#reprint")
    assert len(events(site, "seal_sheet_printed", session_id)) == 1
    sheet.click("#print")
    wait_js(sheet, "window.__prints === 1", timeout=20)
    printed = events(site, "seal_sheet_printed", session_id)
    assert [(e["actor"], e.get("reprint")) for e in printed] == [
        ("investigator", None),
        ("prosecutor", True),
    ]
    filing.close()


def console_time(utc: str) -> str:
    return parse_utc(utc).astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


def test_the_wall_shows_console_times_elapsed_and_why_a_room_needs_attention(
    site: Site, browser: object
) -> None:
    # An integrity alarm on one of the room's sealed sessions, found by a player.
    app = site.console.app
    ended = site.recorder.status().last_session
    assert ended is not None, "the terminal test leaves a sealed session of the room"
    catalogue(app)
    segment = site.console.data.store().path(f"sessions/{ended.session_id}/segments/000000.mp4")
    segment.chmod(0o644)
    segment.write_bytes(b"edited" + segment.read_bytes()[6:])
    prosecutor = app.test_client()
    login(prosecutor, "prosecutor")
    assert prosecutor.get(f"/sessions/{ended.session_id}/segments/0.mp4").status_code == 409

    started = site.recorder.start(case_number="VKS-89/2026", room="Phòng 1", unit="hanoi")
    try:
        while site.recorder.status().segments_sealed < 2:
            time.sleep(0.2)
        # A browser elsewhere, in English: the wall still speaks the console's time.
        context = browser.new_context(  # type: ignore[attr-defined]
            locale="en-US", timezone_id="America/New_York", viewport=VIEWPORT
        )
        wall = context.new_page()
        log_in(wall, site.base, "supervisor")
        wall.goto(f"{site.base}/rooms/wall/")
        row = "#wall tr[data-room=room1]"
        assert wall.inner_text(f"{row} td.since").startswith(console_time(started.started_at or ""))
        # After the page's own refresh, the same (its rows are rewritten by wall.js).
        wall.evaluate(f"document.querySelector('{row}').dataset.old = 'yes'")
        wait_js(wall, f"document.querySelector('{row}').dataset.old !== 'yes'", timeout=30)
        since = wall.inner_text(f"{row} td.since").split("\n")
        assert since[0] == console_time(started.started_at or ""), since
        assert CONSOLE_TIME.match(wall.inner_text(f"{row} td.seal").strip())
        before = wall.inner_text(f"{row} span.elapsed")
        time.sleep(2.5)
        after = wall.inner_text(f"{row} span.elapsed")
        assert re.fullmatch(r"\d+:\d\d:\d\d", after) and after != before  # it ticks
        # One room needs attention, and the wall says why; no upload destination is said.
        assert wall.inner_text("#wall-attention") == "1"
        assert "attention" in (wall.get_attribute(row, "class") or "")
        why = wall.inner_text(f"{row} td.alarm")
        assert "có cảnh báo toàn vẹn đang mở về một phiên ghi của phòng này" in why
        assert "Chưa cấu hình nơi tải lên" in wall.inner_text(f"{row} td.backlog")
        context.close()
    finally:
        site.recorder.stop("Kết thúc")
