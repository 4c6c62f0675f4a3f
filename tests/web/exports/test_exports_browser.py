"""Exports in real Chromium (Debian's, headless, via Playwright) against the console under
waitress: the Export button of a session's page and of a clip's page opens the request form
filled in; a supervisor approves and the console builds each package in the background; a
court clerk of the unit, who did not ask for them, downloads them under their readable names,
byte for byte as built; the auditor's custody log lists every download under its taker."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.browser import log_in, shot
from tests.support.clips import client_for, clip_id_of, custody, make_clip, record_long_session
from tests.support.console import build_console
from tests.support.evidence import segment_media

pytestmark = pytest.mark.slow
REASON = "Luật sư bào chữa đề nghị cung cấp bản ghi"
CASE_SLUG = "VKS-7-2026"  # the sessions' case VKS-7/2026, as a file name spells it


@dataclass(frozen=True)
class Served:
    base: str
    app: Flask
    session_id: str
    clip_id: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("exports-browser") / "data")
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, 3)]
    session_id = record_long_session(console.data, "hanoi-bd", media)
    prosecutor = client_for(console.app, "prosecutor")
    status, clip = make_clip(prosecutor, session_id, "0:00.5", "0:01.5", number="VC-1")
    assert status == 302, clip
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
        yield Served(base, console.app, session_id, clip_id_of(clip))
    finally:
        server.close()


def _request_from(page: Any, button: str) -> int:
    """Follow an Export button to the form, give the reason, send it; the new request's id."""
    page.click(button)
    page.wait_for_selector("#export-form")
    page.fill("#export-reason", REASON)
    page.click("#export-submit")
    page.wait_for_load_state()
    anchor = page.evaluate("() => location.hash")
    match = re.fullmatch(r"#request-(\d+)", anchor)
    assert match, page.url
    return int(match.group(1))


def _downloads_logged(app: Flask, session_id: str, count: int) -> list[dict[str, Any]]:
    """The session's download events, once ``count`` are there: a download is recorded when
    its last byte has left the console, a moment after the browser has it."""
    deadline = time.monotonic() + 10
    while len(found := custody(app, "export_download", session_id)) < count:
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    return found


def test_export_buttons_request_a_package_another_of_the_unit_downloads_and_custody_lists(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, served.base, "prosecutor")

    # The session page's button: the form names the session, and nothing else.
    page.goto(f"{served.base}/sessions/{served.session_id}")
    page.click("#export-session")
    page.wait_for_selector("#export-form")
    assert page.input_value("#export-form #export-session") == served.session_id
    assert page.input_value("#export-form #export-clip") == ""
    page.go_back()
    session_request = _request_from(page, "#export-session")

    # The clip page's button: the form names the clip by its exhibit number.
    page.goto(f"{served.base}/clips/{served.clip_id}")
    page.click("#export-clip")
    page.wait_for_selector("#export-form")
    assert page.input_value("#export-form #export-clip") == "VC-1"
    assert page.input_value("#export-form #export-session") == ""  # the clip alone
    page.go_back()
    clip_request = _request_from(page, "#export-clip")
    assert page.inner_text(f"#request-{clip_request}").count("VC-1") >= 1
    shot(page, "exports-requested")
    context.close()

    # A supervisor approves both; the console builds them, and the list says so by itself.
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Approve this export?"
    log_in(page, served.base, "supervisor")
    for request_id in (session_request, clip_request):
        page.goto(f"{served.base}/exports/")
        page.click(f"#request-{request_id} button.approve")
        page.wait_for_selector(f"#request-{request_id}.export-built", timeout=120_000)
    context.close()

    # A court clerk of the unit, who asked for neither, downloads both in the browser.
    context = browser.new_context(locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    log_in(page, served.base, "court-clerk")
    page.goto(f"{served.base}/exports/")
    expected = {
        session_request: rf"{CASE_SLUG}_phien-ghi_\d{{4}}-\d{{2}}-\d{{2}}_{session_request}\.zip",
        clip_request: rf"{CASE_SLUG}_VC-1_\d{{4}}-\d{{2}}-\d{{2}}_{clip_request}\.zip",
    }
    for request_id, name in expected.items():
        row = f"#request-{request_id}"
        shown_digest = page.inner_text(f"{row} code.digest").strip()
        with page.expect_download() as download:
            page.click(f"{row} a.download")
        assert re.fullmatch(name, download.value.suggested_filename), (
            download.value.suggested_filename
        )
        assert page.inner_text(f"{row} .meta") == download.value.suggested_filename
        body = Path(download.value.path()).read_bytes()
        assert hashlib.sha256(body).hexdigest() == shown_digest
    shot(page, "exports-downloaded")
    context.close()

    # The custody log lists each download, under the clerk's name, with its request.
    logged = _downloads_logged(served.app, served.session_id, 2)
    assert [entry["request_id"] for entry in logged] == [session_request, clip_request]
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, served.base, "auditor")
    page.goto(
        f"{served.base}/custody/?session={served.session_id}&action=export_download",
    )
    rows = page.locator("#custody tbody tr")
    assert rows.count() == 2
    for index, request_id in enumerate((clip_request, session_request)):  # newest first
        cells = rows.nth(index).locator("td")
        assert cells.nth(2).inner_text() == "court-clerk"
        assert str(request_id) in cells.nth(8).inner_text()
    shot(page, "exports-custody")
    context.close()
