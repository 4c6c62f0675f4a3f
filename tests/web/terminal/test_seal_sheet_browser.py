"""The seal sheet in real Chromium (Debian's, headless, via Playwright) against the console
under waitress: six people present sign on six lines, each with their role, under the unit's
name; the seal's 64 hex digits stay inside their box on the screen and on paper; the session's
page has a link that opens the same sheet again."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from evidence_store import SessionMetadata, SessionWriter
from tests.support.browser import log_in, shot
from tests.support.console import MEDIA, build_console, catalogue
from web.extensions import db
from web.models import Unit

pytestmark = pytest.mark.slow
UNIT_NAME = "Công an quận Ba Đình"
PEOPLE = [
    ("Trần Thị B", "Điều tra viên"),
    ("Lê Văn E", "Điều tra viên"),
    ("Nguyễn Văn A", "Bị can"),
    ("Phạm Văn D", "Bị can"),
    ("Lê Văn C", "luật sư"),
    ("Đỗ Thị G", "phiên dịch"),
]
A4_PRINTABLE = {"width": 718, "height": 1047}  # A4 at 96 dpi less the default margins

# Whether the seal's lines lie within its box, the box within the sheet, and nothing makes
# the sheet or the page scroll sideways.
FITS = """() => {
  const code = document.getElementById('seal-hash');
  const box = code.closest('dd'), sheet = document.getElementById('seal-sheet');
  const b = box.getBoundingClientRect(), s = sheet.getBoundingClientRect();
  const lines = Array.from(code.getClientRects());
  return {
    linesInBox: lines.every(r => r.left >= b.left - 0.5 && r.right <= b.right + 0.5),
    boxInSheet: b.left >= s.left - 0.5 && b.right <= s.right + 0.5,
    boxUnscrolled: box.scrollWidth <= box.clientWidth,
    sheetUnscrolled: sheet.scrollWidth <= sheet.clientWidth,
    pageUnscrolled: document.documentElement.scrollWidth <= document.documentElement.clientWidth,
  };
}"""


@dataclass(frozen=True)
class Served:
    base: str
    session_id: str
    seal: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("seal-sheet-browser") / "data")
    metadata = SessionMetadata.model_validate(
        {
            "case_number": "VKS-90/2026",
            "room": "Phòng 1",
            "unit": "hanoi-bd",
            "accused": ["Nguyễn Văn A", "Phạm Văn D"],
            "investigators": ["Trần Thị B", "Lê Văn E"],
            "others_present": [
                {"name": "Lê Văn C", "role": "luật sư"},
                {"name": "Đỗ Thị G", "role": "phiên dịch"},
            ],
        }
    )
    writer = SessionWriter.start(console.data.store(), console.data.signer(), metadata, MEDIA)
    writer.inflight_path(0).write_bytes(b"\x00" * 512)
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    manifest = writer.stop("kết thúc")
    catalogue(console.app)  # the session page reads the catalog
    with console.app.app_context():
        db.session.query(Unit).filter_by(code="hanoi-bd").one().name = UNIT_NAME
        db.session.commit()
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
        yield Served(base, writer.session_id, manifest.chain.head)
    finally:
        server.close()


def _check_sheet(page: Any, served: Served) -> None:
    lines = page.locator("#signatures > div")
    assert lines.count() == len(PEOPLE)
    for index, (name, role) in enumerate(PEOPLE):
        assert lines.nth(index).inner_text().split("\n") == [name, role]
        assert lines.nth(index).locator("small").inner_text() == role
        border = lines.nth(index).evaluate("e => getComputedStyle(e).borderTopStyle")
        assert border == "solid"  # a line to sign on
    header = page.inner_text("#unit-header")
    assert header.casefold() == UNIT_NAME.casefold()
    assert page.evaluate("() => document.getElementById('unit-header').textContent") == UNIT_NAME
    seal = page.inner_text("#seal-hash")
    assert re.fullmatch(r"[0-9a-f]{64}", seal) and seal == served.seal
    assert page.evaluate(FITS) == dict.fromkeys(
        ("linesInBox", "boxInSheet", "boxUnscrolled", "sheetUnscrolled", "pageUnscrolled"),
        True,
    )


def test_the_seal_sheet_has_six_signature_lines_and_its_seal_in_its_box(
    served: Served, browser: Any
) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, served.base, "investigator")
    page.goto(f"{served.base}/terminal/room1/seal/{served.session_id}")
    _check_sheet(page, served)
    shot(page, "seal-sheet-1280")
    # On paper: print styles, an A4 page's printable width.
    page.emulate_media(media="print")
    page.set_viewport_size(A4_PRINTABLE)
    _check_sheet(page, served)
    assert not page.is_visible("#print")  # the buttons are not printed
    shot(page, "seal-sheet-a4")
    context.close()


def test_the_session_page_reprints_the_same_sheet(served: Served, browser: Any) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, served.base, "prosecutor")
    page.goto(f"{served.base}/sessions/{served.session_id}")
    page.click("#reprint-seal-sheet")
    page.wait_for_selector("#seal-sheet")
    assert page.url == f"{served.base}/terminal/seal/{served.session_id}"
    assert page.is_visible("#reprint")
    _check_sheet(page, served)
    context.close()
