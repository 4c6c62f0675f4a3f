"""Every route has an explicit role rule, and it is enforced for every role; every denial is
written to the custody log."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.console import Console, build_console, login, username_for
from web.access import PUBLIC, ROOMS, rule_of
from web.audit import custody_log
from web.roles import Role


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("console"))
    # CSRF has its own test; here every POST must reach the access rule.
    built.app.config["WTF_CSRF_ENABLED"] = False
    return built


def sample_urls(app: Flask, console: Console) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route, with realistic arguments."""
    values = {
        "session_id": console.own_session,
        "index": 0,
        "track": "cam1",
        "code": "room1",
        "bookmark_id": 1,
        "user_id": 999,
        "action": "pause",
        "filename": "console.css",
        "clip_id": 1,
        "diagram_id": 1,
        "layer_id": 1,
        "hearing_id": 1,
        "exhibit_id": 1,
        "request_id": 1,
        "login_id": 999,
        "change_id": 999,
        "decision": "approve",
    }
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        args = {name: values[name] for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def test_every_route_has_an_explicit_rule(console: Console) -> None:
    missing = [
        r.endpoint
        for r in console.app.url_map.iter_rules()
        if rule_of(console.app, r.endpoint) is None
    ]
    assert missing == []


def allowed(app: Flask, endpoint: str, role: Role | None) -> bool:
    rule = rule_of(app, endpoint)
    if rule == PUBLIC:
        return True
    return role is not None and isinstance(rule, frozenset) and role in rule


ROLES: list[Role | None] = [None, *Role]
# Routes that end the walking client's own login; each has its own test below.
ENDS_THE_SESSION = {"auth.logout", "auth.logout_everywhere"}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_every_route_with_every_role(console: Console, role: Role | None) -> None:
    app = console.app
    client = app.test_client()
    if role is not None:
        login(client, username_for(role))
    for endpoint, method, url in sample_urls(app, console):
        if endpoint in ENDS_THE_SESSION:
            continue  # would end this client's session mid-walk; covered below
        before = len(custody_log_entries(app, "access_denied"))
        response = client.open(url, method=method, headers={"Accept": "text/html"})
        status = response.status_code
        where = f"{role} {method} {url} -> {status}"
        if rule_of(app, endpoint) == ROOMS:  # a room's credential, never a user's login
            assert status == 401, where
        elif allowed(app, endpoint, role):
            assert status not in (401, 403), where
            if role is None:
                assert not (
                    status == 302 and "/login" in response.location and endpoint != "home"
                ), where
        elif role is None:
            assert status in (302, 401), where
            if status == 302:
                assert "/login" in response.location, where
        else:
            assert status == 403, where
            assert len(custody_log_entries(app, "access_denied")) == before + 1, where


def custody_log_entries(app: Flask, action: str) -> list[object]:
    with app.app_context():
        return list(custody_log().entries(action=action))


def test_logout_needs_a_login(console: Console) -> None:
    client = console.app.test_client()
    assert client.post("/logout").status_code == 401
    login(client, "prosecutor")
    assert client.post("/logout").status_code == 302
    assert client.get("/sessions/", headers={"Accept": "text/html"}).status_code == 302


def test_logging_out_everywhere_needs_a_login(console: Console) -> None:
    client = console.app.test_client()
    assert client.post("/account/sessions/end-all").status_code == 401
    login(client, "court-clerk")
    assert client.post("/account/sessions/end-all").status_code == 302
    assert client.get("/sessions/", headers={"Accept": "text/html"}).status_code == 302


def test_the_account_routes_rules(console: Console) -> None:
    """The new routes' rules as the issue states them: accounts are the administrator's,
    the waiting changes are shown to auditors too, and one's own password and sessions are
    everyone's."""
    app = console.app
    assert rule_of(app, "admin.approvals_list") == frozenset({Role.ADMIN, Role.AUDITOR})
    for endpoint in (
        "admin.users",
        "admin.user",
        "admin.reset_password",
        "admin.unlock",
        "admin.disable",
        "admin.enable",
        "admin.change_role",
        "admin.change_unit",
        "admin.decide",
    ):
        assert rule_of(app, endpoint) == frozenset({Role.ADMIN}), endpoint
    for endpoint in (
        "auth.change_password",
        "auth.my_sessions",
        "auth.end_session",
        "auth.logout_everywhere",
    ):
        assert rule_of(app, endpoint) == frozenset(Role), endpoint


def test_a_user_sees_own_unit_and_below_never_sideways(console: Console) -> None:
    client = console.app.test_client()
    login(client, "prosecutor")
    listing = client.get("/sessions/").get_data(as_text=True)
    assert "VKS-1/2026" in listing and "VKS-2/2026" not in listing
    assert client.get(f"/sessions/{console.own_session}").status_code == 200
    before = len(custody_log_entries(console.app, "access_denied"))
    assert client.get(f"/sessions/{console.other_session}").status_code == 404
    assert client.get(f"/sessions/{console.other_session}/segments/0.mp4").status_code == 404
    assert len(custody_log_entries(console.app, "access_denied")) == before + 2


def test_the_administrator_cannot_see_evidence(console: Console) -> None:
    client = console.app.test_client()
    login(client, "admin")
    for url in (
        "/sessions/",
        f"/sessions/{console.own_session}",
        f"/sessions/{console.own_session}/segments/0.mp4",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/sessions/{console.own_session}/verify").status_code == 403
