"""The console is Vietnamese throughout: every page a role may open, and every error page
(400, 403, 404, 405, 409, 413, 429, 500), rendered in ``vi`` holds none of the English words
of a stop list (verdicts, raw custody codes and roles, Flask's own error texts); switching
language keeps the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from flask import abort, url_for
from flask.testing import FlaskClient

from tests.support.console import Console, build_console, csrf_token, login, username_for
from web.access import PUBLIC, public, rule_of
from web.audit import custody_log
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
