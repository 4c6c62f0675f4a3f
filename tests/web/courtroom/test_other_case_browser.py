"""A clip of another case on a hearing's exhibit list, in real Chromium (Debian's, headless,
via Playwright) against the console under waitress: a clip of the hearing's own case is added
at once; one of another case makes the page ask first, and nothing is added until the clerk
confirms; then the list marks it as of that other case."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.support.browser import log_in, shot
from tests.support.clips import client_for, clip_id_of, custody, make_clip, record_long_session
from tests.support.console import build_console, record_session
from tests.support.evidence import segment_media
from tests.support.hearings import exhibit_ids, new_hearing

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Served:
    base: str
    app: Flask
    hearing_id: int  # of case VKS-7/2026
    own_clip_id: int  # VC-1, of case VKS-7/2026
    other_clip_id: int  # VC-H, of case VKS-9/2026


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("other-case") / "data")
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, 2)]
    own = record_long_session(console.data, "hanoi-bd", media)  # case VKS-7/2026
    other = record_session(console.data, "hanoi", "VKS-9/2026", media[0])
    prosecutor = client_for(console.app, "prosecutor")
    status, own_clip = make_clip(prosecutor, own, "0:00.5", "0:01.5", number="VC-1")
    assert status == 302, own_clip
    status, other_clip = make_clip(prosecutor, other, "0:00", "0:00.5", number="VC-H")
    assert status == 302, other_clip
    hearing_id = new_hearing(client_for(console.app, "court-clerk"), case="VKS-7/2026")
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
        yield Served(base, console.app, hearing_id, clip_id_of(own_clip), clip_id_of(other_clip))
    finally:
        server.close()


def _numbers_listed(page: Any) -> list[str]:
    return [str(n) for n in page.locator("#exhibit-list td.number").all_inner_texts()]


def test_a_clip_of_another_case_is_added_only_once_confirmed_and_is_marked(
    served: Served, browser: Any
) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, served.base, "court-clerk")
    hearing = f"{served.base}/hearings/{served.hearing_id}"
    page.goto(hearing)

    # Of the hearing's own case: added at once, unmarked, no question.
    page.select_option("#exhibit-item", f"clip-{served.own_clip_id}")
    page.click("#exhibit-add")
    page.wait_for_load_state()
    assert _numbers_listed(page) == ["VC-1"]
    assert page.locator("#other-case-question").count() == 0

    # Of another case: the page asks, and adds nothing.
    page.select_option("#exhibit-item", f"clip-{served.other_clip_id}")
    page.click("#exhibit-add")
    page.wait_for_selector("#other-case-question")
    question = page.inner_text("#other-case-question")
    assert "VKS-9/2026" in question and "VKS-7/2026" in question
    assert page.is_visible("#exhibit-other-case") and not page.is_checked("#exhibit-other-case")
    assert page.input_value("#exhibit-item") == f"clip-{served.other_clip_id}"  # kept
    assert _numbers_listed(page) == ["VC-1"]
    shot(page, "hearing-other-case-asked")

    # Not confirmed: Add again without the tick asks again; leaving the page drops the
    # question. Neither adds anything.
    page.click("#exhibit-add")
    page.wait_for_selector("#other-case-question")
    assert _numbers_listed(page) == ["VC-1"]
    page.goto(hearing)
    assert page.locator("#other-case-question").count() == 0
    assert _numbers_listed(page) == ["VC-1"]
    assert len(exhibit_ids(served.app, served.hearing_id)) == 1

    # Confirmed: added, and marked as of the other case; the clip of the hearing's case not.
    page.select_option("#exhibit-item", f"clip-{served.other_clip_id}")
    page.click("#exhibit-add")
    page.wait_for_selector("#other-case-question")
    page.check("#exhibit-other-case")
    page.click("#exhibit-add")
    page.wait_for_load_state()
    assert page.url == hearing
    assert _numbers_listed(page) == ["VC-1", "VC-H"]
    rows = page.locator("#exhibit-list tbody tr")
    assert rows.nth(0).locator(".other-case").count() == 0
    badge = rows.nth(1).locator(".other-case")
    assert badge.count() == 1 and "VKS-9/2026" in badge.inner_text()
    assert page.locator("#other-case-question").count() == 0
    shot(page, "hearing-other-case-added")
    context.close()

    added = custody(served.app, "hearing_exhibit_added")
    assert [entry.get("other_case") for entry in added[-2:]] == [None, "VKS-9/2026"]
