"""The console's defences: CSRF, session fixation, open redirects, path traversal, oversized
and malformed input, lockout, cookies and security headers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from evidence_store.installation import DataDir
from tests.support.console import PASSWORD, Console, build_console, csrf_token, login
from web.app import create_app
from web.audit import custody_log
from web.recorders import room_key
from web.settings import ConsoleSettings


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return build_console(tmp_path_factory.mktemp("console"))


def test_csrf_is_enforced_on_login_and_on_state_changes(console: Console) -> None:
    client = console.app.test_client()
    response = client.post("/login", data={"username": "prosecutor", "password": PASSWORD})
    assert response.status_code == 400  # no token
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": "prosecutor", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    verify_url = f"/sessions/{console.own_session}/verify"
    assert client.post(verify_url).status_code == 400
    token = csrf_token(client, f"/sessions/{console.own_session}")
    assert client.post(verify_url, data={"csrf_token": token}).status_code == 302
    assert client.post(verify_url, data={"csrf_token": "forged"}).status_code == 400


def test_login_starts_a_fresh_session(console: Console) -> None:
    client = console.app.test_client()
    csrf_token(client)
    before = client.get_cookie("sealroom_session")
    assert before is not None
    token = csrf_token(client)
    client.post(
        "/login", data={"username": "prosecutor", "password": PASSWORD, "csrf_token": token}
    )
    after = client.get_cookie("sealroom_session")
    assert after is not None and after.value != before.value
    # The pre-login cookie, replayed, is not logged in.
    attacker = console.app.test_client()
    attacker.set_cookie("sealroom_session", before.value)
    assert attacker.get("/sessions/", headers={"Accept": "text/html"}).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_no_open_redirect_after_login(console: Console, target: str) -> None:
    client = console.app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": "prosecutor", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 302
    assert response.location in ("/start", "http://localhost/start")


def test_a_local_next_is_honoured(console: Console) -> None:
    client = console.app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "username": "prosecutor",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/sessions/?page=1",
        },
    )
    assert response.location.endswith("/sessions/?page=1")


@pytest.mark.parametrize(
    "path",
    [
        "/sessions/../../etc/passwd",
        "/sessions/%2e%2e%2f%2e%2e%2fetc%2fpasswd/segments/0.mp4",
        "/sessions/s-20260101T000000Z-00000000/segments/0.mp4",
        "/sessions/{own}/segments/..%2F..%2Fmanifest.json",
        "/sessions/{own}/segments/-1.mp4",
        "/sessions/{own}/segments/99999999.mp4",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/terminal/..%2F..%2Fetc/seal/{own}",
    ],
)
def test_path_traversal_on_file_routes(console: Console, path: str) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    response = client.get(path.format(own=console.own_session))
    assert response.status_code in (400, 403, 404), path
    body = response.get_data()
    assert b"root:" not in body and b"create_app" not in body


def test_oversized_and_malformed_input_is_rejected(console: Console) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    console.app.config["WTF_CSRF_ENABLED"] = False
    try:
        url = f"/sessions/{console.own_session}/bookmarks"
        assert client.post(url, data={"offset_ms": "x" * 200_000, "note": "n"}).status_code == 413
        assert client.post(url, data={"offset_ms": "abc", "note": "n"}).status_code == 400
        assert client.post(url, data={"offset_ms": "-5", "note": "n"}).status_code == 400
        assert client.post(url, data={"offset_ms": "10", "note": "y" * 1001}).status_code == 400
        assert (
            client.post(url, data={"offset_ms": "1500", "note": "bị can khai"}).status_code == 302
        )
    finally:
        console.app.config["WTF_CSRF_ENABLED"] = True


def test_security_headers(console: Console) -> None:
    response = console.app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_cookies_are_secure_httponly_samesite(tmp_path: object) -> None:
    from pathlib import Path

    console = build_console(Path(str(tmp_path)), secure_cookies=True)
    client = console.app.test_client()
    response = client.get("/login", base_url="https://localhost")
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("sealroom_session=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_repeated_failures_lock_the_account_and_are_logged(console: Console) -> None:
    console.app.config["WTF_CSRF_ENABLED"] = False
    try:
        client = console.app.test_client()
        for _ in range(5):
            response = client.post("/login", data={"username": "auditor", "password": "wrong"})
            assert response.status_code == 401
        response = client.post("/login", data={"username": "auditor", "password": PASSWORD})
        assert response.status_code == 401  # locked, even with the right password
    finally:
        console.app.config["WTF_CSRF_ENABLED"] = True
    with console.app.app_context():
        failures = custody_log().entries(action="login_failed", actor="auditor")
    assert len(failures) == 6
    assert failures[-1].detail == {"reason": "account locked", "filed_under": "hanoi"}
    assert failures[0].ip == "127.0.0.1"


def test_login_attempts_from_one_address_are_throttled(tmp_path: object) -> None:
    from pathlib import Path

    from web.settings import ConsoleSettings

    console = build_console(Path(str(tmp_path)))
    console.app.config["SEALROOM_SETTINGS"] = ConsoleSettings(login_attempts_per_minute=5)
    console.app.config["WTF_CSRF_ENABLED"] = False
    client = console.app.test_client()
    codes = [
        client.post("/login", data={"username": f"nobody{n}", "password": "x"}).status_code
        for n in range(7)
    ]
    assert codes == [401] * 5 + [429] * 2
    with console.app.app_context():
        assert len(custody_log().entries(action="login_throttled")) == 2


def test_generated_secrets_are_private_whole_and_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEALROOM_SECRET_KEY", raising=False)
    monkeypatch.delenv("SEALROOM_ROOM_KEY", raising=False)
    data = DataDir.resolve(tmp_path)
    first = create_app(data, ConsoleSettings()).secret_key
    again = create_app(data, ConsoleSettings()).secret_key
    key = room_key(tmp_path, ConsoleSettings())
    assert room_key(tmp_path, ConsoleSettings()) == key and first == again and first
    for name in ("console-secret", "room-key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
