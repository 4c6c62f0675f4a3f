"""The pages every role shares, in real Chromium (1280×800) against the console under
waitress: the language switch returns to the same path, query and #fragment; an error page's
links lead back and to the start page. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.browser import log_in, shot
from tests.support.console import build_console

pytestmark = pytest.mark.slow
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("pages-browser") / "data")
    server = create_server(console.app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    finally:
        server.close()


def test_switching_language_keeps_path_query_and_fragment(base: str, browser: object) -> None:
    context = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "court-clerk")
    page.goto(f"{base}/hearings/?x=1&y=a%20b#hearing-form")
    assert page.evaluate("() => document.documentElement.lang") == "vi"
    page.click("#lang-en")
    page.wait_for_load_state()
    assert page.url == f"{base}/hearings/?x=1&y=a%20b#hearing-form"
    assert page.evaluate("() => document.documentElement.lang") == "en"
    # The fragment as it is when the link is followed, not as the page was opened.
    page.evaluate("() => { window.location.hash = 'hearings'; }")
    page.click("#lang-vi")
    page.wait_for_load_state()
    assert page.url == f"{base}/hearings/?x=1&y=a%20b#hearings"
    assert page.evaluate("() => document.documentElement.lang") == "vi"
    # No fragment: none added.
    page.goto(f"{base}/hearings/")
    page.click("#lang-en")
    page.wait_for_load_state()
    assert page.url == f"{base}/hearings/"
    context.close()


def test_an_error_pages_links_lead_back_and_to_the_start_page(base: str, browser: object) -> None:
    context = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "court-clerk")
    page.goto(f"{base}/hearings/")
    page.goto(f"{base}/hearings/999")
    assert page.inner_text("h1") == "404"
    shot(page, "error-404")
    assert page.is_visible("#error-back") and page.is_visible("#error-start")
    page.click("#error-back")
    page.wait_for_url(f"{base}/hearings/")
    page.go_forward()
    page.click("#error-start")
    page.wait_for_url(f"{base}/sessions/")  # the court clerk's start page
    # Opened straight in a new tab, with nowhere to go back to: Back leads to the start page.
    fresh = context.new_page()
    fresh.goto(f"{base}/hearings/999")
    fresh.click("#error-back")
    fresh.wait_for_url(f"{base}/sessions/")
    context.close()
