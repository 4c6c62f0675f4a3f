"""What every page of the console shares: error pages that say what happened and lead
somewhere (back, the start page), a 413 that names the limit, a form that expired saying so,
the language switch returning to the very place (after a form, to a page a browser can open),
errors answered as JSON to the pages' scripts, and the console's icon."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import quote, unquote

import pytest
from flask import abort
from flask.testing import FlaskClient

from tests.support.console import Console, build_console, csrf_token, login
from web.access import public

STATIC_ICON = "/static/favicon.ico"
COOKIE = "sealroom_session"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    built = build_console(tmp_path_factory.mktemp("pages"))
    app = built.app
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is the 500 page, as in production

    @public
    def error_for_test(code: int) -> None:
        if code == 500:
            raise RuntimeError("a bug")
        abort(code)

    app.add_url_rule("/test-error/<int:code>", "error_for_test", error_for_test)
    yield built


def message_of(page: str) -> str:
    found = re.search(r'<p id="error-message">(.*?)</p>', page, re.S)
    assert found, page[:2000]
    return unescape(found.group(1))


def links_of(page: str) -> dict[str, str]:
    """id → href of the error page's links."""
    return {
        ident: unescape(href)
        for href, ident in re.findall(r'<a href="([^"]*)" id="(error-[a-z]+)"', page)
    }


def english(client: FlaskClient) -> None:
    assert client.get("/language/en?next=/").status_code == 302


def test_every_error_page_leads_back_and_to_the_start_page(console: Console) -> None:
    client = console.app.test_client()
    login(client, "investigator")
    for code in (400, 403, 404, 405, 409, 413, 429, 500):
        response = client.get(f"/test-error/{code}")
        page = response.get_data(as_text=True)
        assert response.status_code == code
        assert links_of(page) == {"error-back": "/", "error-start": "/"}, code
        assert "Quay lại" in page and "Về trang đầu của bạn" in page
    # "/" is the person's start page: the investigator's is the room terminal.
    start = client.get("/", follow_redirects=True)
    assert start.request.path == "/terminal/"
    # Not logged in: the way on is the login page.
    missing = console.app.test_client().get("/no-such-page").get_data(as_text=True)
    assert links_of(missing) == {"error-back": "/", "error-start": "/"}
    assert "Đến trang đăng nhập" in missing


def test_too_large_names_the_configured_limit_in_mb(console: Console) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    page = f"/sessions/{console.own_session}"
    token = csrf_token(client, page)
    refused = client.post(f"{page}/bookmarks", data={"note": "x" * 100_000, "csrf_token": token})
    assert refused.status_code == 413
    assert message_of(refused.get_data(as_text=True)) == (
        "Dữ liệu gửi lên quá lớn: giới hạn là 0,06 MB."  # 64 KiB
    )
    english(client)
    refused = client.post(f"{page}/bookmarks", data={"note": "x" * 100_000, "csrf_token": token})
    assert message_of(refused.get_data(as_text=True)) == "Too large: the limit is 0.06 MB."
    # Another limit configured: that one is said.
    console.app.config["MAX_CONTENT_LENGTH"] = 3 * 1024 * 1024
    try:
        big = client.post(
            f"{page}/bookmarks", data={"note": "x" * (4 * 1024 * 1024), "csrf_token": token}
        )
    finally:
        console.app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    assert big.status_code == 413
    assert message_of(big.get_data(as_text=True)) == "Too large: the limit is 3 MB."


def test_an_expired_form_says_so_and_what_to_do(console: Console) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    verify = f"/sessions/{console.own_session}/verify"
    for token in ("", "a-token-of-an-earlier-login"):
        refused = client.post(verify, data={"csrf_token": token})
        assert refused.status_code == 400
        assert message_of(refused.get_data(as_text=True)) == (
            "Biểu mẫu này đã hết hạn vì trang được mở quá lâu. Hãy tải lại trang rồi thử lại."
        )
    english(client)
    refused = client.post(verify, data={})
    assert message_of(refused.get_data(as_text=True)) == (
        "This form has expired: the page was open too long. Reload the page, then try again."
    )
    # Any other bad request keeps the plain message.
    assert message_of(client.get("/test-error/400").get_data(as_text=True)) == "Bad request."


def test_switching_language_returns_to_the_path_query_and_fragment(console: Console) -> None:
    """The browser adds the #fragment to ``next`` (console.js); the console returns there."""
    client = console.app.test_client()
    login(client, "court-clerk")
    response = client.get("/language/en?next=/hearings/?x=1%26y=2%23hearing-form")
    assert response.status_code == 302
    assert response.location == "/hearings/?x=1&y=2#hearing-form"
    page = client.get("/hearings/?x=1&y=2").get_data(as_text=True)
    switch = re.search(r'<a href="([^"]+)" id="lang-vi" data-lang', page)
    assert switch and unescape(switch.group(1)) == "/language/vi?next=/hearings/?x%3D1%26y%3D2"
    assert '<script src="/static/console.js" defer></script>' in page


def test_the_icon_is_served_to_anyone(console: Console) -> None:
    client = console.app.test_client()  # not logged in
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert icon.data[:4] == b"\x00\x00\x01\x00" and len(icon.data) < 8192  # an ICO, small
    assert icon.data == client.get(STATIC_ICON).data
    assert "no-store" not in icon.headers.get("Cache-Control", "")
    login_page = client.get("/login").get_data(as_text=True)
    assert f'<link rel="icon" href="{STATIC_ICON}"' in login_page


def language_links(page: str) -> dict[str, str]:
    """lang → the ``next`` its link carries."""
    found = re.findall(r'<a href="/language/([a-z]+)\?next=([^"]*)" id="lang-', page)
    return {code: unquote(unescape(after)) for code, after in found}


def test_the_language_links_after_a_form_lead_somewhere_a_browser_can_open(
    console: Console,
) -> None:
    """A page answering a POST is no address to return to (a GET there is a 405): the links
    lead to the page the form was on, if on this console, else to the start page."""
    client = console.app.test_client()
    login(client, "prosecutor")
    page = f"/sessions/{console.own_session}"
    verify = f"{page}/verify"
    expired = client.post(verify, data={"csrf_token": "stale"})  # no Referer: none is sent
    assert expired.status_code == 400
    assert language_links(expired.get_data(as_text=True)) == {"vi": "/", "en": "/"}
    switched = client.get("/language/en?next=/", follow_redirects=True)
    assert switched.status_code == 200 and switched.request.path == "/sessions/"
    assert '<html lang="en">' in switched.get_data(as_text=True)
    # The form's page named by the browser: back there, query and all.
    here = f"http://localhost{page}?from=list"
    refused = client.post(verify, data={"csrf_token": "stale"}, headers={"Referer": here})
    assert language_links(refused.get_data(as_text=True)) == {
        "vi": f"{page}?from=list",
        "en": f"{page}?from=list",
    }
    back = client.get(f"/language/vi?next={quote(page + '?from=list')}", follow_redirects=True)
    assert back.status_code == 200 and back.request.full_path == f"{page}?from=list"
    assert '<html lang="vi">' in back.get_data(as_text=True)
    # A Referer from elsewhere is not followed; a 405 after a POST leads on too.
    for referrer in ("https://elsewhere.example/x", "http://localhost.example/sessions/"):
        elsewhere = client.post(verify, data={"csrf_token": "x"}, headers={"Referer": referrer})
        assert language_links(elsewhere.get_data(as_text=True))["vi"] == "/"
    not_here = client.post("/sessions/", headers={"Referer": f"http://localhost{page}"})
    assert not_here.status_code == 405
    assert language_links(not_here.get_data(as_text=True))["en"] == page
    # A page answering a GET keeps its own address.
    assert language_links(client.get(f"{page}?x=1").get_data(as_text=True))["vi"] == f"{page}?x=1"


JSON_ACCEPT = {"Accept": "application/json"}
BROWSER_ACCEPT = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_pages_script_gets_its_error_as_json_it_can_show(console: Console) -> None:
    """A script (fetch) that asks for JSON, or sends JSON, gets the same status with
    ``{"error": code, "message": text}``, never the HTML page its JSON parser fails on."""
    client = console.app.test_client()
    login(client, "prosecutor")
    bookmarks = f"/sessions/{console.own_session}/bookmarks"
    expired_vi = "Biểu mẫu này đã hết hạn vì trang được mở quá lâu. Hãy tải lại trang rồi thử lại."
    refused = client.post(bookmarks, data={"note": "x", "csrf_token": "stale"}, headers=JSON_ACCEPT)
    assert refused.status_code == 400 and refused.mimetype == "application/json"
    assert refused.get_json() == {"error": 400, "message": expired_vi}
    # presenter.js and draw.js send JSON with fetch's default ``Accept: */*``.
    sent_json = client.post(bookmarks, json={"note": "x"}, headers={"X-CSRFToken": "stale"})
    assert sent_json.status_code == 400 and sent_json.get_json()["message"] == expired_vi
    # Every other error too, each with its own message.
    expected = {
        400: "Yêu cầu không hợp lệ.",
        403: "Không được phép.",
        404: "Không tìm thấy.",
        409: "Không thể thực hiện ở trạng thái hiện tại.",
        429: "Quá nhiều yêu cầu: vui lòng chờ một lát rồi thử lại.",
        500: "Máy chủ gặp sự cố. Không có gì bị thay đổi; vui lòng thử lại.",
    }
    for code in (400, 403, 404, 405, 409, 413, 429, 500):
        answer = client.get(f"/test-error/{code}", headers=JSON_ACCEPT)
        assert answer.status_code == code and answer.mimetype == "application/json", code
        body = answer.get_json()
        assert body["error"] == code and body["message"], code
        assert body["message"] == expected.get(code, body["message"]), code
        assert "<" not in body["message"]
    token = csrf_token(client, f"/sessions/{console.own_session}")
    too_large = client.post(
        bookmarks, data={"note": "x" * 100_000, "csrf_token": token}, headers=JSON_ACCEPT
    )
    assert too_large.status_code == 413
    assert too_large.get_json()["message"] == "Dữ liệu gửi lên quá lớn: giới hạn là 0,06 MB."
    # In the person's language.
    english(client)
    refused = client.post(bookmarks, data={"csrf_token": "stale"}, headers=JSON_ACCEPT)
    assert refused.get_json() == {
        "error": 400,
        "message": "This form has expired: the page was open too long. "
        "Reload the page, then try again.",
    }
    # The browser's own requests still get the page.
    page = client.post(bookmarks, data={"csrf_token": "stale"}, headers=BROWSER_ACCEPT)
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert client.get("/test-error/404", headers=BROWSER_ACCEPT).mimetype == "text/html"


def test_a_request_that_changes_nothing_sends_no_cookie_back(console: Console) -> None:
    """So a poll or a picture answered after the language was switched cannot put back the
    cookie from before the switch."""
    client = console.app.test_client()
    login(client, "supervisor")
    client.get("/sessions/")  # the page the switch is made on (its forms' token kept)
    before = client.get_cookie(COOKIE)
    assert before is not None
    english(client)
    # A request sent with the cookie from before, answered after the switch.
    late = console.app.test_client()
    late.set_cookie(COOKIE, before.value)
    for path in ("/favicon.ico", "/static/console.css", "/sessions/"):
        answer = late.get(path)
        assert answer.status_code == 200, path
        assert not [c for c in answer.headers.getlist("Set-Cookie") if c.startswith(COOKIE)]
    assert '<html lang="en">' in client.get("/sessions/").get_data(as_text=True)
