"""Login sessions live on the server: logout, disabling and a password change end them there,
so a captured cookie replayed afterwards is refused (and never renewed); idle and absolute
timeouts; "log out everywhere"; one's own list of sessions; and two console processes on one
database honour the same logins. The secret key must have 32 bytes or more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from evidence_store import UsageError
from evidence_store.installation import DataDir
from tests.support.accounts import attempt_login, events, logged_in, send_form
from tests.support.cli import sealroom_here
from tests.support.console import PASSWORD, Console, build_console
from web.app import create_app
from web.extensions import db
from web.models import LoginSession
from web.settings import ConsoleSettings

COOKIE = "sealroom_session"
OTHER_BROWSER = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "curl/8.0 (replay)"}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return build_console(tmp_path_factory.mktemp("console"))


def replay(console: Console, cookie: str) -> FlaskClient:
    """Another browser at another address, holding a captured cookie."""
    thief = console.app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


def captured(client: FlaskClient) -> str:
    found = client.get_cookie(COOKIE)
    assert found is not None
    return found.value


def reaches_sessions(client: FlaskClient, **environ: str) -> bool:
    response = client.get("/sessions/", headers={"Accept": "text/html"}, environ_base=environ)
    return response.status_code == 200


def test_a_cookie_captured_before_logout_is_refused_after_it(console: Console) -> None:
    victim = logged_in(console.app, "prosecutor")
    cookie = captured(victim)
    assert reaches_sessions(replay(console, cookie))  # what the thief had before logout
    send_form(victim, "/sessions/", {}, to="/logout")
    thief = replay(console, cookie)
    assert not reaches_sessions(thief, **OTHER_BROWSER)
    assert not reaches_sessions(replay(console, cookie))  # from the victim's own browser too
    renewed = thief.get_cookie(COOKIE)
    assert renewed is None or renewed.value != cookie or not reaches_sessions(thief)


def test_disabling_and_a_password_change_end_sessions(console: Console) -> None:
    victim = logged_in(console.app, "court-clerk")
    elsewhere = logged_in(console.app, "court-clerk")
    kept = captured(victim)
    changed = send_form(
        victim,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "đêm trăng sáng 2026 ở Huế",
            "repeat": "đêm trăng sáng 2026 ở Huế",
        },
    )
    assert changed.status_code == 302
    assert reaches_sessions(victim)  # the one that changed it goes on
    assert not reaches_sessions(elsewhere)  # every other one ended
    admin = logged_in(console.app, "admin")
    with console.app.app_context():
        from web.models import User

        clerk = db.session.query(User).filter_by(username="court-clerk").one()
        clerk_id = clerk.id
    send_form(admin, f"/admin/users/{clerk_id}/disable", {"confirm": "yes"})
    assert not reaches_sessions(replay(console, kept))
    send_form(admin, f"/admin/users/{clerk_id}", {}, to=f"/admin/users/{clerk_id}/enable")
    assert not reaches_sessions(replay(console, kept))  # enabling revives no old session


def test_log_out_everywhere_and_where_am_i_logged_in(console: Console) -> None:
    here = logged_in(console.app, "supervisor")
    there = console.app.test_client()
    assert attempt_login(there, "supervisor", address="198.51.100.7").status_code == 302
    page = here.get("/account/sessions").get_data(as_text=True)
    assert "198.51.100.7" in page and "this session" in page
    send_form(here, "/account/sessions", {}, to="/account/sessions/end-all")
    assert not reaches_sessions(here) and not reaches_sessions(there)
    ended = events(console.app, "logout_everywhere")
    assert ended[-1].actor == "supervisor" and ended[-1].detail["sessions_ended"] == 2


def test_idle_and_absolute_timeouts(console: Console) -> None:
    client = logged_in(console.app, "auditor")
    assert client.get("/account/sessions").status_code == 200
    settings: ConsoleSettings = console.app.config["SEALROOM_SETTINGS"]
    long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(
        minutes=settings.session_idle_minutes + 1
    )
    with console.app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=long_ago))
        db.session.commit()
    assert client.get("/account/sessions").status_code == 401  # idle too long
    fresh = logged_in(console.app, "auditor")
    too_old = datetime.now(UTC).replace(tzinfo=None) - timedelta(
        hours=settings.session_absolute_hours, minutes=1
    )
    with console.app.app_context():
        db.session.execute(
            update(LoginSession).where(LoginSession.revoked_at.is_(None)).values(created_at=too_old)
        )
        db.session.commit()
    assert fresh.get("/account/sessions").status_code == 401  # active, but too old


def test_two_console_processes_share_the_logins(tmp_path: Path) -> None:
    """Replicas behind one address share one database: a login on one is honoured by the
    other, and a logout on one is enforced by the other."""
    first = build_console(tmp_path / "data")
    second = create_app(first.data, ConsoleSettings(secure_cookies=False))
    client = logged_in(first.app, "prosecutor")
    cookie = captured(client)
    other = second.test_client()
    other.set_cookie(COOKIE, cookie)
    assert reaches_sessions(other)
    send_form(other, "/sessions/", {}, to="/logout")
    assert not reaches_sessions(client)


def test_a_short_secret_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEALROOM_SECRET_KEY", "x")  # the finding: one character was accepted
    with pytest.raises(UsageError, match="at least 32"):
        create_app(DataDir.resolve(tmp_path))
    ran = sealroom_here("console", "--data-dir", str(tmp_path), "--port", "1")
    assert ran.returncode == 2 and "at least 32" in ran.stderr
    monkeypatch.setenv("SEALROOM_SECRET_KEY", "k" * 32)
    assert create_app(DataDir.resolve(tmp_path)).secret_key == "k" * 32
    monkeypatch.delenv("SEALROOM_SECRET_KEY")
    (tmp_path / "short-secret").write_text("0123456789", encoding="utf-8")
    with pytest.raises(UsageError, match="short-secret"):
        create_app(
            DataDir.resolve(tmp_path), ConsoleSettings(secret_key_file=tmp_path / "short-secret")
        )
