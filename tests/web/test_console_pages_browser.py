"""The pages every role shares, in real Chromium (1280×800) against the console under
waitress: the top bar on one line for every role, in Vietnamese and English; the language
switch returns to the same path, query and #fragment; an error page's links lead back and to
the start page. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.browser import log_in, shot
from tests.support.console import build_console, username_for
from web.extensions import db
from web.models import User
from web.roles import Role

pytestmark = pytest.mark.slow
VIEWPORT = {"width": 1280, "height": 800}
# A full name longer than the bar shows (it is cut short there, whole in the account menu).
LONG_NAME = "Nguyễn Thị Thanh Hương Trần"
# Where each item of the top bar sits: one line is one top for all of them.
BAR = """() => {
  const bar = document.querySelector("header.topbar");
  const items = [...bar.querySelectorAll(
    ".brand, nav a, .user-menu summary, form.logout button, .lang")].filter(e => e.offsetParent);
  const tops = items.map(e => Math.round(e.getBoundingClientRect().top));
  return {
    height: bar.getBoundingClientRect().height,
    item: bar.querySelector("nav a").getBoundingClientRect().height,
    tops: [...new Set(tops)],
    count: items.length,
    overflow: bar.scrollWidth - bar.clientWidth,
  };
}"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("pages-browser") / "data")
    with console.app.app_context():
        for user in db.session.query(User):
            user.display_name = LONG_NAME
        db.session.commit()
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


def one_line(bar: dict[str, object]) -> bool:
    tops = bar["tops"]
    assert isinstance(tops, list) and isinstance(bar["height"], float | int)
    return max(tops) - min(tops) <= 3 and bar["height"] < 2 * bar["item"]  # type: ignore[operator]


def switch_to(page: object, base: str, lang: str) -> None:
    page.goto(f"{base}/language/{lang}?next=/")  # type: ignore[attr-defined]
    assert page.evaluate("() => document.documentElement.lang") == lang  # type: ignore[attr-defined]


def test_the_top_bar_is_one_line_for_every_role(base: str, browser: object) -> None:
    """At 1280×800, in Vietnamese (its longest labels) and in English, on each role's start
    page (the investigator's is the room terminal, with its big buttons)."""
    for role in Role:
        context = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
        page = context.new_page()
        log_in(page, base, username_for(role))
        for lang in ("vi", "en"):
            switch_to(page, base, lang)
            bar = page.evaluate(BAR)
            assert one_line(bar), (role, lang, bar)
            assert bar["overflow"] <= 0 and bar["count"] >= 6, (role, lang, bar)
        if role in (Role.SUPERVISOR, Role.INVESTIGATOR):
            switch_to(page, base, "vi")
            shot(page, f"top-bar-{role.value}-vi")
        context.close()


def test_the_account_menu_holds_the_rest(base: str, browser: object) -> None:
    context = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "supervisor")
    summary = page.locator("#user-menu summary")
    assert summary.get_attribute("title") == f"{LONG_NAME} · Lãnh đạo đơn vị · hanoi"
    assert not page.is_visible("#my-sessions")
    summary.click()
    assert page.is_visible("#my-sessions")
    assert page.inner_text("#user-menu .role") == f"{LONG_NAME}\nLãnh đạo đơn vị · hanoi"
    shot(page, "top-bar-account-menu")
    page.click("main h1")  # a click elsewhere closes it
    assert not page.is_visible("#my-sessions")
    summary.click()
    page.keyboard.press("Escape")
    assert not page.is_visible("#my-sessions")
    summary.click()
    page.click("#my-sessions")
    page.wait_for_url(f"{base}/account/sessions")
    # Narrower, the bar wraps between items, never past the window's edge.
    page.set_viewport_size({"width": 800, "height": 800})
    bar = page.evaluate(BAR)
    assert bar["overflow"] <= 0 and len(bar["tops"]) > 1, bar
    context.close()


def test_switching_language_after_a_form_leads_to_a_page(base: str, browser: object) -> None:
    """The page answering a refused form: its language links do not lead to the form's
    address (a 405), but to the start page (the console's pages send no Referer)."""
    context = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "court-clerk")
    page.goto(f"{base}/hearings/")
    page.evaluate(
        """() => document.querySelectorAll("input[name=csrf_token]")
                   .forEach(field => { field.value = "stale"; })"""
    )
    page.click("form.logout button")  # a form whose token no longer matches
    page.wait_for_load_state()
    assert page.inner_text("h1") == "400"
    page.click("#lang-en")
    page.wait_for_load_state()
    assert page.url == f"{base}/sessions/"
    assert page.evaluate("() => document.documentElement.lang") == "en"
    context.close()


def test_a_scripts_refused_request_shows_the_reason(base: str, browser: object) -> None:
    """The bookmark form is sent by the page's script: a refused token comes back as JSON,
    and the page says what to do (not a JSON parse error)."""
    context = browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, base, "prosecutor")
    page.goto(f"{base}/sessions/")
    page.click("table.list tbody a")
    page.wait_for_load_state()
    page.evaluate(
        """() => { document.querySelector("#bookmark-form input[name=csrf_token]").value =
                     "stale"; }"""
    )
    page.fill("#bookmark-note", "ghi chú")
    page.click("#bookmark-save")
    page.wait_for_selector("#bookmark-error:not([hidden])")
    assert page.inner_text("#bookmark-error") == (
        "Biểu mẫu này đã hết hạn vì trang được mở quá lâu. Hãy tải lại trang rồi thử lại."
    )
    context.close()
