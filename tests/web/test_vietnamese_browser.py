"""The console in Vietnamese as a person reads it in real Chromium (Debian's, headless, via
Playwright) at 1280×800: for each role, its main pages once their scripts ran (what the
page's JavaScript writes: the review player's refusal, "verify now"'s answer, the wall, the
room terminal's status, the court presenter), hold none of the English words of the stop list
the test-client walk in test_vietnamese.py uses."""

from __future__ import annotations

import ast
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import log_in, shot, wait_js
from tests.support.clips import client_for, clip_id_of, make_clip, record_long_session
from tests.support.console import Console, build_console, username_for
from tests.support.evidence import segment_media
from tests.support.hearings import add_exhibit, new_hearing
from web.roles import Role

pytestmark = pytest.mark.slow
REFUSED = 2  # the tampered session's altered segment: it starts at 0:02
VIDEO = "document.getElementById('player')"
WORD = re.compile(r"[^\W\d]+")  # words in any script: "toàn" is no "to"
SETTLE_SECONDS = 1.0  # a page's first fetches and timers (wall, terminal status) answer by then


def _stop_words() -> frozenset[str]:
    """The one stop list, read from the test-client walk's module (a test module imports no
    other, so it is read, not imported, and never copied)."""
    source = (Path(__file__).parent / "test_vietnamese.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "STOP_WORDS" for target in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    raise LookupError("STOP_WORDS")


STOP_WORDS = _stop_words()


@dataclass(frozen=True)
class Served:
    base: str
    console: Console
    tampered: str  # a session whose segment REFUSED no longer matches its seal
    clip_id: int
    hearing_id: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from waitress.server import create_server

    console = build_console(tmp_path_factory.mktemp("vi-browser") / "data")
    media = [path.read_bytes() for path in segment_media(tmp_path_factory, 4)]
    tampered = record_long_session(console.data, "hanoi-bd", media)
    stored = console.data.store().path(f"sessions/{tampered}/segments/{REFUSED:06d}.mp4")
    body = bytearray(stored.read_bytes())
    body[len(body) // 2] ^= 0x01
    stored.chmod(0o644)
    stored.write_bytes(bytes(body))
    intact = record_long_session(console.data, "hanoi-bd", media[:2])
    prosecutor = client_for(console.app, "prosecutor")
    status, clip = make_clip(prosecutor, intact, "0:00.5", "0:01.5", title="Lời khai")
    assert status == 302, clip
    clerk = client_for(console.app, "court-clerk")
    hearing_id = new_hearing(clerk, case="VKS-7/2026")
    assert add_exhibit(clerk, hearing_id, f"clip-{clip_id_of(clip)}").status_code == 302
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
        yield Served(base, console, tampered, clip_id_of(clip), hearing_id)
    finally:
        server.close()


def _names(served: Served) -> list[str]:
    """Data shown as it was entered (user names, session ids), whatever its language."""
    names = [username_for(role) for role in Role] + ["investigator-danang"]
    names += [served.console.own_session, served.console.other_session, served.tampered]
    return sorted(names, key=len, reverse=True)


def english_on(page: Any, names: list[str]) -> set[str]:
    """The stop words in the page's visible text, as its scripts left it, with the line
    each is on."""
    found = set()
    for line in str(page.evaluate("() => document.body.innerText")).splitlines():
        text = line
        for name in names:
            text = text.replace(name, " ")
        if words := {w for w in WORD.findall(text) if w.lower() in STOP_WORDS}:
            found.add(f"{sorted(words)} in {' '.join(text.split())[:120]!r}")
    return found


def _main_pages(page: Any, base: str) -> list[str]:
    """The pages of the role's navigation bar and its own account page."""
    hrefs = page.eval_on_selector_all(
        "header.topbar nav a, header.topbar .who a", "links => links.map(a => a.href)"
    )
    return [str(h) for h in hrefs if str(h).startswith(base)]


def _extra_pages(served: Served, role: Role) -> list[str]:
    """Pages the navigation bar leads to one step further, whose scripts write text."""
    hearing = f"/hearings/{served.hearing_id}"
    clip = f"/clips/{served.clip_id}"
    return {
        Role.SUPERVISOR: [clip, hearing, f"/custody/?session={served.tampered}"],
        Role.COURT_CLERK: [clip, hearing, f"{hearing}/present", f"{hearing}/audience"],
        Role.INVESTIGATOR: [
            "/terminal/room1",
            "/terminal/room1/start",
            f"/terminal/room1/seal/{served.console.own_session}",
            f"/sessions/{served.console.own_session}",
        ],
        Role.AUDITOR: [clip, hearing, f"/custody/?session={served.tampered}"],
        Role.ADMIN: ["/admin/users/1"],
    }[role]


def _walk(page: Any, served: Served, paths: list[str]) -> dict[str, set[str]]:
    """Open each page, let its scripts run, and note the stop words it shows."""
    english: dict[str, set[str]] = {}
    for path in paths:
        url = path if path.startswith("http") else served.base + path
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("load")
        time.sleep(SETTLE_SECONDS)
        assert page.evaluate("() => document.documentElement.lang") == "vi", url
        if found := english_on(page, _names(served)):
            english[url.removeprefix(served.base)] = found
    return english


def _report(english: dict[str, set[str]]) -> str:
    return "\n".join(f"{url}: {sorted(found)}" for url, found in english.items())


def _logged_in(browser: Any, served: Served, role: Role) -> tuple[Any, Any]:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    log_in(page, served.base, username_for(role))
    page.goto(f"{served.base}/language/vi")
    return context, page


@pytest.mark.parametrize(
    "role",
    [Role.SUPERVISOR, Role.COURT_CLERK, Role.INVESTIGATOR, Role.AUDITOR, Role.ADMIN],
    ids=lambda role: role.value,
)
def test_every_main_page_reads_vietnamese_after_its_scripts_ran(
    served: Served, browser: Any, role: Role
) -> None:
    context, page = _logged_in(browser, served, role)
    paths = _main_pages(page, served.base) + _extra_pages(served, role)
    assert len(paths) >= 3, paths
    english = _walk(page, served, paths)
    context.close()
    assert not english, _report(english)


def test_a_tampered_session_reads_vietnamese_once_played_to_the_refusal_and_verified(
    served: Served, browser: Any
) -> None:
    """The player's refusal and "verify now"'s verdict are written by the page's scripts;
    the alarm they raise is listed on the alarms page. (After the walk above: this raises
    the alarm and its custody rows.)"""
    context, page = _logged_in(browser, served, Role.SUPERVISOR)
    page.goto(f"{served.base}/sessions/{served.tampered}")
    page.evaluate(f"() => {{ {VIDEO}.muted = true; {VIDEO}.play(); }}")
    wait_js(page, f"{VIDEO}.paused && {VIDEO}.currentTime > 1.5", timeout=30)
    page.wait_for_selector("#player-refused:not([hidden])")
    assert "0:02" in page.inner_text("#player-refused")
    page.click("#verify-now")
    page.wait_for_selector("#verify-live:not([hidden])", timeout=30_000)
    assert "segments/000002.mp4" in page.inner_text("#verify-live")
    shot(page, "vi-browser-tampered-session")
    english = {}
    if found := english_on(page, _names(served)):
        english[f"/sessions/{served.tampered} (played, verified)"] = found
    english.update(_walk(page, served, ["/alarms/", "/sessions/"]))
    context.close()
    # The refusal's and the verification's custody rows, and the alarm's, as the auditor
    # reads them: detail values worded, never stored codes or English reasons.
    context, page = _logged_in(browser, served, Role.AUDITOR)
    english.update(_walk(page, served, [f"/custody/?session={served.tampered}"]))
    rows = page.locator("#custody tbody tr").count()
    context.close()
    assert rows >= 2, rows  # the refused playback and the verification at least
    assert not english, _report(english)
