"""The console in a real browser (Debian chromium, headless, driven by Playwright): the room
terminal records a real session through the room's recorder service, and a prosecutor plays
and verifies it. Screenshots of the key pages are kept in test-artifacts/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api

from tests.console_fixtures import PASSWORD, build_console

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
TOKEN = "browser-test-token-" + os.urandom(8).hex()
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, *, headers: dict[str, str] | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


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
    env = {**os.environ, "SEALROOM_RECORDER_TOKEN": TOKEN}
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
        wait_for(f"{recorder_url}/status", headers={"Authorization": f"Bearer {TOKEN}"})
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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield launched
        launched.close()


def log_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("#login")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def wait_js(page: object, expression: str, *, timeout: float = 30) -> None:
    """Poll ``expression`` until true. (Playwright's wait_for_function evaluates strings with
    eval, which the console's Content-Security-Policy rightly forbids.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.2)


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_record_review_play_verify_in_chromium(servers: dict[str, object], browser: object) -> None:
    base = str(servers["base"])
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()

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
    shot(page, "02-terminal-recording")

    page.select_option("#pause-reason", index=1)
    page.click("#pause")
    page.wait_for_selector("#rec[data-state=paused]", timeout=20_000)
    page.fill("#resume-other", "Luật sư đã có mặt")
    page.click("#resume")
    page.wait_for_selector("#rec[data-state=recording]", timeout=20_000)
    time.sleep(3)
    page.select_option("#stop-reason", index=1)
    page.click("#stop")
    page.wait_for_selector("#seal-sheet", timeout=30_000)
    seal = page.inner_text("#seal-hash")
    assert len(seal) == 64
    shot(page, "03-seal-sheet")
    session_url = page.url
    session_id = session_url.rstrip("/").split("/")[-1]
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
    page.wait_for_selector("#verify-result")
    assert "NGUYÊN VẸN" in page.inner_text("#verify-result")
    shot(page, "06-verified")
    context.close()

    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "investigator-danang")
    response = page.goto(f"{base}/sessions/{session_id}")
    assert response is not None and response.status == 404
    shot(page, "07-other-unit-refused")
    context.close()
