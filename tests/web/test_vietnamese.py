"""The console is Vietnamese throughout: every page a role may open, and every error page
(400, 403, 404, 405, 409, 413, 429, 500), rendered in ``vi`` holds none of the English words
of a stop list (verdicts, raw custody codes and roles, Flask's own error texts); switching
language keeps the page. So do the surfaces that show what others wrote in English or in
codes: a clip refused, alarms and their custody rows (the page, the CSV and the PDF), account
changes, a session's timeline of device events; and clips show one time-code scheme."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from flask import abort, url_for
from flask.testing import FlaskClient

from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from tests.support.clips import make_clip
from tests.support.console import (
    MEDIA,
    PASSWORD,
    Console,
    build_console,
    catalog_reporter,
    csrf_token,
    login,
    username_for,
)
from tests.support.hearings import add_exhibit, new_hearing, post_json
from web.access import PUBLIC, public, rule_of
from web.audit import custody_log
from web.auth import create_user
from web.roles import Role

# Words that never belong in the Vietnamese console's text (user data aside).
STOP_WORDS = {
    "the", "and", "not", "is", "are", "of", "to", "with", "please", "error", "found",
    "allowed", "request", "method", "unknown", "cannot", "session", "sessions", "sealed",
    "tampered", "intact", "incomplete", "verify", "verified", "bookmark", "investigator",
    "prosecutor", "supervisor", "auditor", "court_clerk", "session_started", "view",
    "list_sessions", "playback", "login", "logout", "password", "none", "yet", "page",
    "search", "state", "delete", "remove", "cancel", "too", "many", "large", "server",
    "internal", "forbidden", "bad", "conflict", "unauthorized",
    # raw codes and English that others record: custody detail keys, alarm kinds, account
    # changes, the recorder's device events, argparse
    "recorder", "create", "pending", "approved", "refused", "endpoint", "start_ms", "end_ms",
    "exhibit_number", "reason_code", "reason_params", "verification_failed", "first",
    "failure", "clock", "slow", "fast", "resampled", "sample", "usage", "options",
}  # fmt: skip
WORD = re.compile(r"[^\W\d]+")  # words in any script: "toàn" is no "to"
# Routes that end the login walking them; their pages are those they redirect to.
SKIPPED = {"auth.logout", "auth.logout_everywhere", "static", "error_for_test"}
# The role each walk uses: together they may open every page of the console.
WALKERS = [Role.SUPERVISOR, Role.COURT_CLERK, Role.INVESTIGATOR, Role.AUDITOR, Role.ADMIN]


class _Text(HTMLParser):
    """What a person reads: text outside scripts, styles and code, and the titles and
    placeholders of elements."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def english_in(page: str, names: list[str]) -> set[str]:
    reader = _Text()
    reader.feed(page)
    found = set()
    for part in reader.parts:
        text = part
        for name in names:  # usernames and the like are data, in whatever language
            text = text.replace(name, " ")
        if words := {w for w in WORD.findall(text) if w.lower() in STOP_WORDS}:
            found.add(f"{sorted(words)} in {' '.join(text.split())[:120]!r}")
    return found


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    built = build_console(tmp_path_factory.mktemp("vi"))
    app = built.app
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is the 500 page, as in production

    @public
    def error_for_test(code: int) -> None:
        if code == 500:
            raise RuntimeError("a bug")
        abort(code)

    app.add_url_rule("/test-error/<int:code>", "error_for_test", error_for_test)
    yield built


def _names(console: Console) -> list[str]:
    names = [username_for(role) for role in Role] + ["investigator-danang"]
    names += [console.own_session, console.other_session]
    return sorted(names, key=len, reverse=True)


def _get_urls(console: Console, role: Role) -> list[str]:
    values = {
        "session_id": console.own_session,
        "index": 0,
        "track": "cam1",
        "code": "room1",
        "bookmark_id": 1,
        "user_id": 1,
        "action": "pause",
        "filename": "console.css",
        "clip_id": 1,
        "diagram_id": 1,
        "layer_id": 1,
        "hearing_id": 1,
        "exhibit_id": 1,
        "request_id": 1,
        "login_id": 1,
        "change_id": 1,
        "decision": "approve",
        "page": 1,
    }
    app = console.app
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED or "GET" not in (rule.methods or set()):
            continue
        allowed = rule_of(app, rule.endpoint)
        if allowed != PUBLIC and not (isinstance(allowed, frozenset) and role in allowed):
            continue
        with app.test_request_context():
            urls.append(url_for(rule.endpoint, **{n: values[n] for n in rule.arguments}))
    return urls


@pytest.mark.slow
def test_every_page_speaks_vietnamese(console: Console) -> None:
    names = _names(console)
    english: dict[str, set[str]] = {}
    pages = 0
    for role in WALKERS:
        client = console.app.test_client()
        login(client, username_for(role))
        for url in _get_urls(console, role):
            response = client.get(url, headers={"Accept": "text/html"})
            if response.mimetype != "text/html" or 300 <= response.status_code < 400:
                continue  # media, CSV, JSON for scripts; a redirect is no page
            pages += 1
            if found := english_in(response.get_data(as_text=True), names):
                english[f"{role.value} {url} ({response.status_code})"] = found
    assert pages > 40
    assert english == {}


def test_every_error_page_speaks_vietnamese(console: Console) -> None:
    client = console.app.test_client()
    login(client, "investigator")
    session_page = f"/sessions/{console.own_session}"
    responses = {
        400: client.post(f"{session_page}/verify", data={}),  # no CSRF token
        403: client.get("/alarms/"),
        404: client.get("/sessions/s-20000101T000000Z-00000000"),
        405: client.get(f"{session_page}/verify"),
        409: client.get("/test-error/409"),
        413: client.post(
            f"{session_page}/bookmarks",
            data={"note": "x" * 100_000, "csrf_token": csrf_token(client, session_page)},
        ),
        429: client.get("/test-error/429"),
        500: client.get("/test-error/500"),
    }
    names = _names(console)
    for code, response in responses.items():
        page = response.get_data(as_text=True)
        assert response.status_code == code, page[:300]
        assert '<html lang="vi">' in page and f"<h1>{code}</h1>" in page
        assert english_in(page, names) == set(), code


def test_switching_language_keeps_the_page(console: Console) -> None:
    client: FlaskClient = console.app.test_client()
    login(client, "prosecutor")
    here = f"/sessions/{console.own_session}?x=1"
    page = client.get(here).get_data(as_text=True)
    switch = re.search(r'href="([^"]+)" id="lang-en"', page)
    assert switch is not None
    response = client.get(switch.group(1).replace("&amp;", "&"))
    assert response.status_code == 302 and response.location == here
    assert 'lang="en"' in client.get(here).get_data(as_text=True)
    # Never to another site.
    away = client.get("/language/vi?next=//evil.example/x")
    assert away.status_code == 302 and "evil" not in away.location


def test_a_tampered_sessions_verdict_and_reason_speak_vietnamese(console: Console) -> None:
    """The format core's reason reaches the page, the last verdict and the alarm in the
    console's language (its English stays in the custody log). Last in this module: it
    alters the session's first segment, and puts it back."""
    segment = console.data.store().path(f"sessions/{console.own_session}/segments/000000.mp4")
    original = segment.read_bytes()
    segment.chmod(0o644)
    segment.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        client = console.app.test_client()
        login(client, "supervisor")
        session_page = f"/sessions/{console.own_session}"
        verified = client.post(
            f"{session_page}/verify", data={"csrf_token": csrf_token(client, session_page)}
        )
        assert verified.status_code == 302
        page = client.get(session_page).get_data(as_text=True)
        reason = "nội dung đoạn video không khớp SHA-256 đã niêm phong (đã bị sửa hoặc thay thế)"
        result = page.split('id="verify-result"', 1)[1].split("</p>", 1)[0]
        assert "segments/000000.mp4" in result and reason in result
        last = page.split('id="last-verification"', 1)[1].split("</p>", 1)[0]
        assert reason in last
        alarms = client.get("/alarms/").get_data(as_text=True)
        assert reason in alarms
        names = _names(console)
        assert english_in(page, names) == set()
        assert english_in(alarms, names) == set()
        with console.app.app_context():
            recorded = custody_log().entries(session_id=console.own_session, action="verify")
        assert recorded[-1].detail["reason"].startswith("segment content does not match")
        assert recorded[-1].detail["reason_code"] == "segment_content_does_match"
    finally:
        segment.write_bytes(original)


def visible_text(page: str) -> str:
    """The text of the page's own content (its <main>: the header is the layout's)."""
    reader = _Text()
    reader.feed(page.split("<main>", 1)[-1])
    return " ".join(reader.parts)


def english_in_text(text: str, names: list[str]) -> set[str]:
    """``english_in`` for plain text (a CSV's cells, a PDF's lines): paths and file names
    (``segments/000000.mp4``, ``/sessions/…``) are data, as usernames are."""
    plain = " ".join(w for w in text.split() if "/" not in w)
    return english_in(f"<p>{html.escape(plain)}</p>", names)


def _record_with_device_events(console: Console) -> str:
    """A sealed session of hanoi-bd whose camera was lost and whose audio clock was
    corrected, as the recorder writes them (English, sealed)."""
    writer = SessionWriter.start(
        console.data.store(create=True),
        console.data.signer(),
        SessionMetadata(case_number="VKS-1/2026", room="Phòng 1", unit="hanoi-bd"),
        MEDIA,
        on_head=catalog_reporter(console.data).on_head,
    )
    writer.inflight_path(0).write_bytes(b"\0" * 2048)
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    writer.device_lost("cam1", "no data for 0.5 s")
    writer.device_restored("cam1")
    writer.clock_corrected(
        "mic1",
        "audio clock 12 ppm slow against the session clock: resampled by -889 ppm from "
        "sample 48000 on",
    )
    writer.stop("kết thúc")
    return writer.session_id


@pytest.mark.slow
def test_clips_alarms_custody_and_approvals_speak_vietnamese(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    names = _names(console)
    with console.app.app_context():
        create_user("auditor-top", role="auditor", unit="supreme", password=PASSWORD)
    admin = console.app.test_client()
    login(admin, "admin")
    token = csrf_token(admin, "/admin/users")
    asked = admin.post(
        "/admin/users",
        data={"csrf_token": token, "username": "spy", "role": "auditor", "unit": "supreme",
              "password": PASSWORD},
    )  # fmt: skip
    assert asked.status_code == 302
    approvals = admin.get("/admin/approvals").get_data(as_text=True)
    assert english_in(approvals, names) == set()
    assert "Viện kiểm sát nhân dân tối cao" in approvals
    assert "supreme" not in visible_text(approvals)

    # Clips: one time-code scheme, hh:mm:ss.mmm, in the form, the list and a refusal.
    prosecutor = console.app.test_client()
    login(prosecutor, "prosecutor")
    form = prosecutor.get(f"/clips/new?session_id={console.own_session}").get_data(as_text=True)
    assert "(hh:mm:ss.mmm)" in form and "mm:ss)" not in form.replace("hh:mm:ss.mmm)", "")
    status, refused = make_clip(prosecutor, console.own_session, "0:00.1", "00:00:09", number="X")
    assert status == 400
    assert "00:00:09.000" in refused and "00:00:01.000" in refused
    status, location = make_clip(prosecutor, console.own_session, "0.1", "00:00:00.900")
    assert status == 302
    listing = prosecutor.get("/clips/").get_data(as_text=True)
    assert "00:00:00.100" in listing and "00:00:00.900" in listing and "0:00:00<" not in listing
    clip_page = prosecutor.get(location).get_data(as_text=True)
    assert 'href="/exports/?clip=VC-1#export-form"' in clip_page  # the clip, not its session

    # A hearing's exhibit list: each clip's case, and what the court screen shows now.
    hearing = new_hearing(prosecutor, case="VKS-1/2026")
    add_exhibit(prosecutor, hearing, "clip-1")
    listed = prosecutor.get(f"/hearings/{hearing}").get_data(as_text=True)
    assert 'class="case">VKS-1/2026<' in listed and "on-screen" not in listed
    exhibit = re.search(r'data-exhibit="(\d+)"', listed)
    assert exhibit is not None
    shown = post_json(
        prosecutor, f"/hearings/{hearing}/present/show", {"exhibit_id": int(exhibit.group(1))}
    )
    assert shown.status_code == 200, shown.get_data(as_text=True)
    listed = prosecutor.get(f"/hearings/{hearing}").get_data(as_text=True)
    assert "Đang trình chiếu" in listed and english_in(listed, names) == set()

    # The timeline of a session whose devices faltered.
    faltered = _record_with_device_events(console)
    timeline = prosecutor.get(f"/sessions/{faltered}").get_data(as_text=True)
    assert "không nhận được dữ liệu trong 0.5 giây" in timeline
    assert "đồng hồ âm thanh chậm 12 ppm" in timeline
    assert english_in(timeline, [*names, faltered]) == set()

    # A tampered session: a clip of it is refused in Vietnamese; the alarm is raised.
    segment = console.data.store().path(f"sessions/{console.own_session}/segments/000000.mp4")
    original = segment.read_bytes()
    segment.chmod(0o644)
    segment.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    supervisor = console.app.test_client()
    login(supervisor, "supervisor")
    session_page = f"/sessions/{console.own_session}"
    token = csrf_token(supervisor, session_page)
    assert supervisor.post(f"{session_page}/verify", data={"csrf_token": token}).status_code == 302
    status, refused = make_clip(prosecutor, console.own_session, "0.1", "0.5", number="VC-2")
    assert status == 400
    error = re.search(r'id="clip-error"[^>]*>([^<]*)<', refused)
    assert error is not None
    assert "nội dung đoạn video không khớp SHA-256" in html.unescape(error.group(1))
    assert english_in(refused, names) == set()
    with console.app.app_context():
        (alarm,) = custody_log().entries(action="alarm")
    # The log keeps English (and the code beside it), never the console's Vietnamese.
    assert alarm.detail["reason"].startswith("TAMPERED: first failure: segments/000000.mp4")
    assert "đoạn" not in alarm.detail["reason"]

    # The custody log, as the page, the CSV and the PDF.
    auditor = console.app.test_client()
    login(auditor, "auditor-top")
    custody = auditor.get("/custody/").get_data(as_text=True)
    assert english_in(custody, [*names, "auditor-top", "spy"]) == set()
    assert "supreme" not in visible_text(custody)  # a unit by its name
    rows = list(csv.reader(io.StringIO(auditor.get("/custody/export.csv").get_data(as_text=True))))
    cells = " ".join(" ".join((row[3], row[4], row[7])) for row in rows[1:])
    assert english_in_text(cells, [*names, "auditor-top", "spy"]) == set()
    created = next(row[7] for row in rows if "VC-1" in row[7] and "00:00:00.100" in row[7])
    assert "#1" not in created and "clip_id" not in created and "start_ms" not in created
    assert "supreme" not in cells
    pdf = pdfium.PdfDocument(auditor.get("/custody/export.pdf").data)
    text = "\n".join(page.get_textpage().get_text_range() for page in pdf)
    assert english_in_text(text, [*names, "auditor-top", "spy"]) == set()
    assert "VC-1" in text and "00:00:00.900" in text
    segment.write_bytes(original)
