"""The user guide's screenshots, taken in real Chromium, in Vietnamese, at 1280×800: each
role's main screens, with a short real recording through the room's recorder service (and,
last, one flipped bit in one of its segments, for the review page's tamper warning). Each
screen is checked for what its user relies on (the right controls are shown) before it is
saved into ``docs/user-guide/``, and every picture ``docs/user-guide.md`` shows must exist.

Running this module writes the pictures again (``pytest tests/web/test_user_guide.py``):
commit them with the change that altered the screens."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.support.browser import free_port, log_in, wait_for, wait_js
from tests.support.clips import client_for, make_clip
from tests.support.console import Console, build_console, catalogue
from tests.support.evidence import flip_byte
from tests.support.hearings import add_exhibit, new_hearing
from tests.support.paths import ROOT
from web.recorders import room_key, room_token
from web.settings import ConsoleSettings

pytestmark = pytest.mark.slow

GUIDE = ROOT / "docs" / "user-guide.md"
PICTURES = ROOT / "docs" / "user-guide"
VIEWPORT = {"width": 1280, "height": 800}
CASE = "VKS-21/2026/HS"
# Every screen the guide shows, by the file its picture is saved in.
SCREENS = (
    "investigator-terminal-idle",
    "investigator-terminal-recording",
    "investigator-terminal-paused",
    "investigator-stop-confirmation",
    "investigator-seal-sheet",
    "prosecutor-sessions",
    "prosecutor-review",
    "prosecutor-tampered",
    "clerk-presenter",
    "clerk-hearing",
    "supervisor-wall",
    "auditor-custody-log",
    "admin-users",
)


def save(page: object, name: str) -> None:
    """The viewport as the guide shows it: a PNG of at most 256 colours (a few dozen kB)."""
    png = page.screenshot()  # type: ignore[attr-defined]
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    small = picture.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    PICTURES.mkdir(exist_ok=True)
    small.save(PICTURES / f"{name}.png", optimize=True)


@dataclass(frozen=True)
class Site:
    base: str
    console: Console


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from waitress.server import create_server

    root = tmp_path_factory.mktemp("guide")
    data_dir = root / "data"
    recorder_port = free_port()
    recorder_url = f"http://127.0.0.1:{recorder_port}"
    console = build_console(data_dir, recorder_url=recorder_url)
    token = room_token(room_key(data_dir, ConsoleSettings()), "room1")
    env = {**os.environ, "SEALROOM_RECORDER_TOKEN": token}
    env.pop("SEALROOM_DATA_DIR", None)
    config = root / "recorder.toml"  # a small picture keeps the test light on two cores
    config.write_text("[recorder]\nwidth = 320\nheight = 240\nfps = 15\nsegment_seconds = 1\n")
    log = root / "recorder.log"
    with log.open("wb") as handle:
        recorder = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sealroom",
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
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = create_server(console.app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(f"{recorder_url}/status", headers={"Authorization": f"Bearer {token}"})
        yield Site(f"http://127.0.0.1:{server.effective_port}", console)
    finally:
        print("--- recorder.log\n" + log.read_text(errors="replace")[-4000:])
        server.close()
        recorder.terminate()
        try:
            recorder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            recorder.kill()


def visible(page: object, *selectors: str) -> None:
    for selector in selectors:
        assert page.is_visible(selector), selector  # type: ignore[attr-defined]


def hidden(page: object, *selectors: str) -> None:
    for selector in selectors:
        assert not page.is_visible(selector), selector  # type: ignore[attr-defined]


def test_each_roles_screens_for_the_user_guide(site: Site, browser: object) -> None:
    def context() -> object:
        return browser.new_context(locale="vi-VN", viewport=VIEWPORT)  # type: ignore[attr-defined]

    session_id = investigator_and_supervisor(site, context)
    prosecutor_review(site, context, session_id)
    court_clerk(site, context, session_id)
    auditor(site, context, session_id)
    prosecutor_tampered(site, context, session_id)  # last: it alters the session's evidence
    administrator(site, context)
    check_the_guide_shows_every_picture()


Contexts = Callable[[], object]


def investigator_and_supervisor(site: Site, context: Contexts) -> str:
    """The room's terminal idle, recording, paused with its reason, Stop's confirmation and
    the seal sheet; the supervisor's wall while the room records. The session's id."""
    base = site.base
    investigator = context()
    terminal = investigator.new_page()  # type: ignore[attr-defined]
    log_in(terminal, base, "investigator")
    terminal.goto(f"{base}/terminal/room1")
    terminal.wait_for_selector("#start-link:not([hidden])", timeout=20_000)
    visible(terminal, "#start-link", "#preview-idle")
    hidden(terminal, "#stop", "#pause", "#preview")
    save(terminal, "investigator-terminal-idle")

    terminal.click("#start-link")
    terminal.fill("#case_number", CASE)
    terminal.fill("#accused", "Nguyễn Văn Án")
    terminal.fill("#investigators", "Trần Thị Bình")
    terminal.fill("#others_present", "Lê Văn Cường:luật sư")
    terminal.click("#start")
    terminal.wait_for_selector("#rec[data-state=recording]", timeout=30_000)
    wait_js(terminal, "Number(document.getElementById('segments').textContent) >= 3", timeout=60)
    wait_js(terminal, "document.getElementById('preview').naturalWidth > 0", timeout=30)
    wait_js(terminal, "document.querySelector('#devices li.working') !== null", timeout=30)
    visible(terminal, "#pause", "#stop", "#preview")
    hidden(terminal, "#resume", "#start-link", "#preview-idle")
    assert "ĐANG GHI" in terminal.inner_text("#rec")
    save(terminal, "investigator-terminal-recording")

    # The supervisor's wall, while the room records: its live picture and its sound level.
    supervisor = context()
    wall = supervisor.new_page()  # type: ignore[attr-defined]
    log_in(wall, base, "supervisor")
    wall.goto(f"{base}/rooms/wall/")
    row = "#wall tr[data-room=room1]"
    wait_js(wall, f"document.querySelector('{row} td.state').textContent === 'đang ghi'")
    wait_js(wall, f"document.querySelector('{row} img.thumb').naturalWidth > 0", timeout=30)
    visible(wall, f"{row} img.thumb", f"{row} meter.level")
    hidden(wall, f"{row} .no-picture")
    assert CASE in wall.inner_text(row)
    save(wall, "supervisor-wall")
    supervisor.close()  # type: ignore[attr-defined]

    # A pause, with its reason shown in large; then on again.
    terminal.select_option("select#pause-reason", index=1)  # (the <p> shares its id)
    terminal.click("#pause")
    terminal.wait_for_selector("#rec[data-state=paused]", timeout=30_000)
    terminal.wait_for_selector("p#pause-reason:not([hidden])")
    visible(terminal, "#resume", "#stop")
    hidden(terminal, "#pause", "#start-link")
    assert terminal.inner_text("#pause-reason-text").strip() not in ("", "—")
    save(terminal, "investigator-terminal-paused")
    terminal.select_option("#resume-reason", index=1)
    terminal.click("#resume")
    terminal.wait_for_selector("#rec[data-state=recording]", timeout=30_000)

    terminal.select_option("#stop-reason", index=1)
    terminal.click("#stop")  # asks first, and stops nothing
    terminal.wait_for_selector("#stop-confirmation:not([hidden])")
    visible(terminal, "#stop-confirm", "#stop-cancel")
    save(terminal, "investigator-stop-confirmation")
    terminal.click("#stop-confirm")
    terminal.wait_for_selector("#seal-sheet", timeout=60_000)
    visible(terminal, "#print", "#seal-pdf", "#seal-hash")
    assert CASE in terminal.inner_text("#seal-sheet")
    assert "Lê Văn Cường" in terminal.inner_text("#signatures")  # a line to sign for each
    # The sheet's foot: the signature lines and the print button, as the guide describes it.
    terminal.evaluate("document.getElementById('print-form').scrollIntoView({block: 'end'})")
    save(terminal, "investigator-seal-sheet")
    session_id = str(terminal.url.rstrip("/").split("/")[-1])
    investigator.close()  # type: ignore[attr-defined]
    catalogue(site.console.app)
    return session_id


def prosecutor_review(site: Site, context: Contexts, session_id: str) -> None:
    """The session list, then the review page with a bookmark on the seek bar."""
    prosecutor = context()
    review = prosecutor.new_page()  # type: ignore[attr-defined]
    log_in(review, site.base, "prosecutor")
    review.goto(f"{site.base}/sessions/")
    visible(review, f"text={CASE}")
    save(review, "prosecutor-sessions")
    review.goto(f"{site.base}/sessions/{session_id}")
    review.evaluate("document.getElementById('player').muted = true")
    review.evaluate("document.getElementById('player').currentTime = 1.5")
    wait_js(review, "document.getElementById('player').readyState >= 2", timeout=30)
    review.click("#bookmark-mark")
    review.fill("#bookmark-note", "Bị can nhắc đến thời điểm gặp bị hại")
    review.click("#bookmark-save")
    wait_js(review, "document.querySelectorAll('#bookmark-list li').length === 1", timeout=20)
    wait_js(review, "document.querySelectorAll('#markers .marker').length >= 1", timeout=10)
    visible(review, "#player", "#speed", "#frame-forward", "#seekbar", "#markers .marker")
    review.evaluate("window.scrollTo(0, 0)")
    save(review, "prosecutor-review")
    prosecutor.close()  # type: ignore[attr-defined]


def court_clerk(site: Site, context: Contexts, session_id: str) -> None:
    """The presenter showing a clip, then the hearing's exhibit list: the exhibit on the
    court screen, a clip of another case marked, and the question another such clip asks."""
    app = site.console.app
    prosecutor = client_for(app, "prosecutor")
    status, clip = make_clip(prosecutor, session_id, "0:00.5", "0:02.5")
    assert status == 302, clip
    others = []
    for number in ("VC-2", "VC-3"):  # of the other case, VKS-1/2026
        title = "Lời khai ngày 02/3" if number == "VC-2" else "Đối chất"
        status, other = make_clip(
            prosecutor, site.console.own_session, "0:00", "0:00.5", title=title, number=number
        )
        assert status == 302, other
        others.append(other.rstrip("/").split("/")[-1])
    clerk_client = client_for(app, "court-clerk")
    hearing_id = new_hearing(clerk_client, case=CASE, date="2026-12-15")
    added = add_exhibit(clerk_client, hearing_id, f"clip-{clip.rstrip('/').split('/')[-1]}")
    assert added.status_code == 302, added.get_data(as_text=True)[:500]
    added = add_exhibit(clerk_client, hearing_id, f"clip-{others[0]}", other_case=True)
    assert added.status_code == 302, added.get_data(as_text=True)[:500]

    clerk = context()
    page = clerk.new_page()  # type: ignore[attr-defined]
    log_in(page, site.base, "court-clerk")
    page.goto(f"{site.base}/hearings/{hearing_id}/present")
    visible(page, "#open-audience", "#present-list button.present", "#blank")
    assert "VC-1" in page.inner_text("#present-list")
    page.uncheck("#autoplay")  # the picture holds still for the guide
    page.click("#present-list li:first-child button.present")
    page.wait_for_selector("#verification:not([hidden])", timeout=30_000)
    wait_js(page, "document.getElementById('preview-video').readyState >= 2", timeout=30)
    assert "NGUYÊN VẸN" in page.inner_text("#verification")
    save(page, "clerk-presenter")

    page.goto(f"{site.base}/hearings/{hearing_id}")
    page.select_option("#exhibit-item", f"clip-{others[1]}")
    page.click("#exhibit-add")
    page.wait_for_selector("#other-case-question")
    rows = page.locator("#exhibit-list tbody tr")
    assert rows.count() == 2  # nothing added before the confirmation
    assert rows.nth(0).locator(".badge.on-screen").count() == 1
    assert "VKS-1/2026" in rows.nth(1).locator(".other-case").inner_text()
    visible(page, "#exhibit-other-case", "#exhibit-add", "#open-presenter")
    page.evaluate("document.getElementById('exhibit-add').scrollIntoView({block: 'end'})")
    save(page, "clerk-hearing")
    clerk.close()  # type: ignore[attr-defined]


def auditor(site: Site, context: Contexts, session_id: str) -> None:
    """The custody log filtered to the session, just verified."""
    auditing = context()
    page = auditing.new_page()  # type: ignore[attr-defined]
    log_in(page, site.base, "auditor")
    page.goto(f"{site.base}/custody/")
    page.fill("#custody-session", session_id)
    page.click("#custody-apply")
    page.wait_for_load_state()
    page.click("#custody-verify button")
    page.wait_for_load_state()
    assert "NGUYÊN VẸN" in page.inner_text("#integrity-verdict")
    assert page.input_value("#custody-session") == session_id  # the filter stays
    sessions = page.locator("#custody tbody td:nth-child(6)").all_inner_texts()
    assert len(sessions) >= 5 and set(sessions) == {session_id}
    visible(page, "#custody-csv", "#custody-pdf")
    save(page, "auditor-custody-log")
    auditing.close()  # type: ignore[attr-defined]


def prosecutor_tampered(site: Site, context: Contexts, session_id: str) -> None:
    """One flipped bit in the session's second segment: the review page's warning."""
    key = f"sessions/{session_id}/segments/{1:06d}.mp4"
    stored = site.console.data.store().path(key)
    stored.chmod(0o644)
    flip_byte(stored)
    prosecutor = context()
    page = prosecutor.new_page()  # type: ignore[attr-defined]
    log_in(page, site.base, "prosecutor")
    page.goto(f"{site.base}/sessions/{session_id}")
    page.wait_for_selector("#player-refused:not([hidden])", timeout=30_000)
    page.wait_for_selector("#seekbar .refused-span")
    assert "0:01" in page.inner_text("#player-refused")
    assert page.inner_text("#shown-state") == "bị can thiệp"
    save(page, "prosecutor-tampered")
    prosecutor.close()  # type: ignore[attr-defined]


def administrator(site: Site, context: Contexts) -> None:
    """Users, with roles by name."""
    admin = context()
    users = admin.new_page()  # type: ignore[attr-defined]
    log_in(users, site.base, "admin")
    users.goto(f"{site.base}/admin/users")
    visible(users, "#users", "form button[type=submit]")
    assert "Thư ký tòa án" in users.inner_text("#users")
    save(users, "admin-users")
    admin.close()  # type: ignore[attr-defined]


def check_the_guide_shows_every_picture() -> None:
    shown = re.findall(r"!\[[^\]]*\]\((user-guide/[^)]+)\)", GUIDE.read_text(encoding="utf-8"))
    assert shown, "the guide shows no picture"
    missing = [name for name in shown if not (GUIDE.parent / name).is_file()]
    assert missing == []
    assert {Path(name).stem for name in shown} == set(SCREENS)
    for name in SCREENS:
        with Image.open(PICTURES / f"{name}.png") as picture:
            assert picture.size == (VIEWPORT["width"], VIEWPORT["height"])
