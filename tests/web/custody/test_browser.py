"""The custody page in real Chromium (Debian's, headless, via Playwright) against the console
under waitress: an auditor filters by session and action, pages back in time, and downloads
the same rows as CSV and PDF; a prosecutor's bookmark list shows the one time-code scheme."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from tests.support.browser import log_in
from tests.support.console import Console, build_console, csrf_token, login
from web.audit import record

pytestmark = pytest.mark.slow
REMOVALS = 130  # one page of 100 and one of 30


@dataclass(frozen=True)
class Served:
    base: str
    console: Console


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("custody-browser") / "data")
    with console.app.test_request_context():
        for n in range(REMOVALS):
            record(
                "bookmark_removed",
                session_id=console.own_session,
                detail={"offset_ms": n},
                actor="prosecutor",
                role="prosecutor",
            )
    prosecutor = console.app.test_client()
    login(prosecutor, "prosecutor")
    url = f"/sessions/{console.own_session}"
    saved = prosecutor.post(
        f"{url}/bookmarks",
        data={"offset_ms": "250", "note": "lời khai", "csrf_token": csrf_token(prosecutor, url)},
    )
    assert saved.status_code == 302
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield Served(f"http://127.0.0.1:{server.effective_port}", console)  # type: ignore[union-attr]
    finally:
        server.close()


def rows_shown(page: Any) -> list[str]:
    return [str(t) for t in page.locator("#custody tbody tr td:first-child").all_inner_texts()]


def test_filter_page_and_download_then_the_bookmarks_time_code(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    log_in(page, served.base, "auditor")
    page.goto(f"{served.base}/custody/")
    page.fill("#custody-session", served.console.own_session)
    page.select_option("#custody-action", "bookmark_removed")
    page.click("#custody-apply")
    page.wait_for_load_state()
    first = rows_shown(page)
    assert len(first) == 100
    assert set(page.locator("#custody tbody td:nth-child(5)").all_inner_texts()) == {"xóa đánh dấu"}
    page.click("#custody-next")
    page.wait_for_load_state()
    second = rows_shown(page)
    assert len(second) == REMOVALS - 100
    assert int(second[0]) < int(first[-1])  # older, none shown twice
    assert page.input_value("#custody-session") == served.console.own_session  # kept

    with page.expect_download() as csv_download:
        page.click("#custody-csv")
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + REMOVALS and {row[4] for row in rows[1:]} == {"xóa đánh dấu"}

    with page.expect_download() as pdf_download:
        page.click("#custody-pdf")
    document = pdfium.PdfDocument(Path(pdf_download.value.path()).read_bytes())
    printed = "\n".join(p.get_textpage().get_text_range() for p in document)
    assert "xóa đánh dấu" in printed and served.console.own_session in printed
    assert f"Trang 1 / {len(document)}" in printed
    document.close()

    # The prosecutor's bookmark: hh:mm:ss.mmm on the session's clock, the wall-clock beside.
    reviewer = context.new_page()
    reviewer.context.clear_cookies()
    log_in(reviewer, served.base, "prosecutor")
    reviewer.goto(f"{served.base}/sessions/{served.console.own_session}")
    item = reviewer.locator("#bookmark-list li").first
    assert item.locator(".timecode").inner_text() == "00:00:00.250"
    assert re.fullmatch(
        r"\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\+7\)", item.locator(".wall").inner_text()
    )
    context.close()
