"""The console in a real browser (Debian chromium, headless, driven by Playwright): the room
terminal records a real session through the room's recorder service, and a prosecutor plays
and verifies it. Screenshots of the key pages are kept in test-artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import free_port, log_in, shot, wait_for, wait_js
from tests.support.console import build_console
from web.recorders import room_key, room_token
from web.settings import ConsoleSettings

pytestmark = pytest.mark.slow


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "sealroom", *args], env=env, stdout=handle, stderr=subprocess.STDOUT
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("browser")
    data_dir = root / "data"
    recorder_port, console_port = free_port(), free_port()
    recorder_url = f"http://127.0.0.1:{recorder_port}"
    console = build_console(data_dir, recorder_url=recorder_url)
    token = room_token(room_key(data_dir, ConsoleSettings()), "room1")  # the room's own
    env = {**os.environ, "SEALROOM_RECORDER_TOKEN": token}
    env.pop("SEALROOM_DATA_DIR", None)
    config = root / "recorder.toml"  # a small picture keeps the test light on two cores
    config.write_text("[recorder]\nwidth = 320\nheight = 240\nfps = 15\nsegment_seconds = 1\n")
    recorder = start(
        [
            "--config",
            str(config),
            "recorder",
            "serve",
            "--room",
            "Phòng 1",
            "--synthetic",
            "--unit",
            "hanoi",  # the room's registered unit, as the console has it
            "--port",
            str(recorder_port),
            "--data-dir",
            str(data_dir),
        ],
        env,
        root / "recorder.log",
    )
    web = start(
        ["console", "--port", str(console_port), "--data-dir", str(data_dir)],
        env,
        root / "console.log",
    )
    try:
        wait_for(f"{recorder_url}/status", headers={"Authorization": f"Bearer {token}"})
        wait_for(f"http://127.0.0.1:{console_port}/login")
        yield {"base": f"http://127.0.0.1:{console_port}", "console": console, "root": root}
    finally:
        for log in ("recorder.log", "console.log"):  # shown by pytest when a test fails
            print(f"--- {log}\n" + (root / log).read_text(errors="replace")[-4000:])
        for process in (web, recorder):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_record_review_play_verify_in_chromium(servers: dict[str, object], browser: object) -> None:
    base = str(servers["base"])
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="vi-VN", viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    # The supervisors' wall of rooms, open before the room starts: it follows without a reload.
    watching = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    wall = watching.new_page()
    log_in(wall, base, "supervisor")
    wall.goto(f"{base}/rooms/wall/")
    assert wall.inner_text("#wall tr[data-room=room1] td.state") == "không ghi"

    log_in(page, base, "investigator")
    assert "/terminal" in page.url
    shot(page, "01-terminal-rooms")
    page.click("text=Mở phiên ghi")
    page.fill("#case_number", "VKS-88/2026/HS")
    page.fill("#accused", "Nguyễn Văn Án")
    page.fill("#investigators", "Trần Thị Bình")
    page.fill("#others_present", "Lê Văn Cường:luật sư")
    page.click("#start")
    page.wait_for_selector("#rec[data-state=recording]", timeout=20_000)
    wait_js(page, "Number(document.getElementById('segments').textContent) >= 2", timeout=30)
    # A kiosk: only the controls that fit, Stop above the fold, the picture and the devices.
    assert page.is_visible("#pause") and page.is_visible("#stop")
    assert not page.is_visible("#resume") and not page.is_visible("#start-link")
    stop_box = page.locator("#stop").bounding_box()
    assert stop_box is not None and stop_box["y"] + stop_box["height"] <= 800
    assert stop_box["height"] >= 44  # a finger's width
    colours = {b: page.eval_on_selector(f"#{b}", "e => getComputedStyle(e).backgroundColor")
               for b in ("pause", "stop")}  # fmt: skip
    assert colours["pause"] != colours["stop"]
    wait_js(page, "document.getElementById('preview').naturalWidth > 0", timeout=20)
    assert not page.is_visible("#preview-idle")
    wait_js(page, "document.querySelector('#devices li.working') !== null", timeout=20)
    assert "Máy quay" in page.inner_text("#devices")
    shot(page, "02-terminal-recording")
    state = "document.querySelector('#wall tr[data-room=room1] td.state').textContent"
    wait_js(wall, f"{state} === 'đang ghi'", timeout=30)
    assert "VKS-88/2026/HS" in wall.inner_text("#wall tr[data-room=room1]")
    shot(wall, "02b-wall-of-rooms")
    watching.close()

    page.select_option("#pause-reason", index=1)
    page.click("#pause")
    page.wait_for_selector("#rec[data-state=paused]", timeout=20_000)
    wait_js(page, "document.getElementById('pause-form').hidden", timeout=10)
    assert page.is_visible("#resume") and page.is_visible("#stop")
    page.fill("#resume-other", "Luật sư đã có mặt")
    page.click("#resume")
    page.wait_for_selector("#rec[data-state=recording]", timeout=20_000)
    time.sleep(3)
    page.select_option("#stop-reason", index=1)
    page.click("#stop")  # asks first, and stops nothing
    page.wait_for_selector("#stop-confirmation:not([hidden])")
    page.click("#stop-cancel")
    time.sleep(1.5)
    assert page.get_attribute("#rec", "data-state") == "recording"
    page.click("#stop")
    page.click("#stop-confirm")
    page.wait_for_selector("#seal-sheet", timeout=30_000)
    seal = page.inner_text("#seal-hash")
    assert len(seal) == 64
    shot(page, "03-seal-sheet")
    session_url = page.url
    session_id = session_url.rstrip("/").split("/")[-1]
    page.goto(f"{base}/terminal/room1")  # idle: a placeholder, never a broken picture
    page.wait_for_selector("#start-link:not([hidden])", timeout=20_000)
    assert page.is_visible("#preview-idle") and not page.is_visible("#preview")
    assert not page.is_visible("#stop") and not page.is_visible("#pause")
    context.close()

    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "prosecutor")
    page.goto(f"{base}/sessions/")
    assert "VKS-88/2026/HS" in page.content()
    shot(page, "04-sessions")
    page.goto(f"{base}/sessions/{session_id}")
    timeline = page.inner_text("#timeline")
    assert "Tạm dừng" in timeline and "Luật sư đã có mặt" in timeline
    page.evaluate("document.getElementById('player').muted = true")
    page.evaluate("document.getElementById('player').play()")
    wait_js(page, "document.getElementById('player').currentTime > 1.5", timeout=30)
    shot(page, "05-session-playing")
    page.click("#verify-now")
    page.wait_for_selector("#verify-live:not([hidden])", timeout=30_000)  # in the page
    assert "NGUYÊN VẸN" in page.inner_text("#verify-live")
    shot(page, "06-verified")
    context.close()

    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "investigator-danang")
    response = page.goto(f"{base}/sessions/{session_id}")
    assert response is not None and response.status == 404
    shot(page, "07-other-unit-refused")
    context.close()
