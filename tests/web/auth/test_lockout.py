"""Waiting after failed logins cannot be used to keep an account locked, an administrator can
unlock it, and a login costs the same argon2 work whatever the account's state, so its time
tells an attacker nothing (the times themselves are measured in
``benchmarks/login_timing.py``; no timing is asserted here)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tests.support.accounts import CountingHasher, attempt_login, events, logged_in, send_form
from tests.support.console import PASSWORD, Console, build_console
from web.auth import backoff, create_user
from web.extensions import db
from web.models import LoginBackoff, User
from web.settings import ConsoleSettings

ATTACKER = "198.51.100.66"
OWNER = "192.0.2.10"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(
        tmp_path_factory.mktemp("console"),
        settings=ConsoleSettings(login_attempts_per_minute=1000),
    )
    with built.app.app_context():
        create_user("locked-one", role="auditor", unit="hanoi", password=PASSWORD)
        create_user("disabled-one", role="auditor", unit="hanoi", password=PASSWORD)
        create_user("waiting-one", role="auditor", unit="hanoi", password=PASSWORD, approved=False)
        db.session.query(User).filter_by(username="disabled-one").one().active = False
        db.session.commit()
    return built


def fail(console: Console, username: str, times: int, address: str = ATTACKER) -> None:
    client = console.app.test_client()
    for _ in range(times):
        assert attempt_login(client, username, "wrong guess", address=address).status_code == 401


def test_an_attacker_cannot_keep_the_administrator_locked_out(console: Console) -> None:
    """The finding: five requests every 15 minutes kept any account locked."""
    fail(console, "admin", 7)
    # The attacker's own address waits, even with the right password...
    blocked = attempt_login(console.app.test_client(), "admin", PASSWORD, address=ATTACKER)
    assert blocked.status_code == 401
    # ...but the administrator, elsewhere, logs in.
    assert (
        attempt_login(console.app.test_client(), "admin", PASSWORD, address=OWNER).status_code
        == 302
    )


def test_the_wait_doubles_and_an_administrator_unlocks(console: Console) -> None:
    settings: ConsoleSettings = console.app.config["SEALROOM_SETTINGS"]
    fail(console, "prosecutor", settings.max_failed_logins)
    with console.app.app_context():
        row = db.session.query(LoginBackoff).filter_by(username="prosecutor").one()
        first = (row.blocked_until - row.last_failure_at).total_seconds()
    fail(console, "prosecutor", 2)
    with console.app.app_context():
        row = db.session.query(LoginBackoff).filter_by(username="prosecutor").one()
        third = (row.blocked_until - row.last_failure_at).total_seconds()
        prosecutor_id = db.session.query(User).filter_by(username="prosecutor").one().id
    assert first == settings.backoff_seconds and third == 4 * settings.backoff_seconds
    page = logged_in(console.app, "admin").get(f"/admin/users/{prosecutor_id}")
    assert ATTACKER in page.get_data(as_text=True)  # the administrator sees who waits
    admin = logged_in(console.app, "admin")
    send_form(admin, f"/admin/users/{prosecutor_id}", {}, to=f"/admin/users/{prosecutor_id}/unlock")
    assert (
        attempt_login(console.app.test_client(), "prosecutor", address=ATTACKER).status_code == 302
    )
    unlocked = events(console.app, "user_unlocked")
    assert [(e.actor, e.detail) for e in unlocked] == [
        ("admin", {"username": "prosecutor", "addresses": 1, "filed_under": "hanoi"})
    ]


def test_the_wait_has_a_ceiling(console: Console) -> None:
    settings: ConsoleSettings = console.app.config["SEALROOM_SETTINGS"]
    fail(console, "supervisor", settings.max_failed_logins + 6)  # 30 s doubled 6 times > 15 min
    with console.app.app_context():
        row = db.session.query(LoginBackoff).filter_by(username="supervisor").one()
        wait = (row.blocked_until - row.last_failure_at).total_seconds()
    assert wait == settings.lockout_minutes * 60


def test_every_failure_costs_one_argon2_verification(
    console: Console, argon2_count: CountingHasher
) -> None:
    """Unknown, locked, disabled, awaiting approval, wrong password and right password: the
    same work each time (the finding: about 190 ms for an unknown user against 10-12 ms for
    a locked or disabled one, because those skipped the hash)."""
    settings: ConsoleSettings = console.app.config["SEALROOM_SETTINGS"]
    fail(console, "locked-one", settings.max_failed_logins)
    cases = {
        "unknown user": ("no-such-user", "wrong guess"),
        "locked": ("locked-one", PASSWORD),
        "disabled": ("disabled-one", PASSWORD),
        "awaiting approval": ("waiting-one", PASSWORD),
        "wrong password": ("investigator", "wrong guess"),
        "right password": ("court-clerk", PASSWORD),
    }
    spent = {}
    for name, (username, password) in cases.items():
        before = argon2_count.verifications
        response = attempt_login(console.app.test_client(), username, password, address=ATTACKER)
        assert response.status_code == (302 if name == "right password" else 401), name
        spent[name] = argon2_count.verifications - before
    assert set(spent.values()) == {1}, spent
    reasons = [e.detail["reason"] for e in events(console.app, "login_failed")][-5:]
    assert reasons == [
        "unknown user",
        "account locked",
        "account disabled",
        "account awaiting approval",
        "wrong password",
    ]
    # What the person sees does not tell the cases apart either.
    pages = {
        attempt_login(console.app.test_client(), u, p, address=ATTACKER).get_data(as_text=True)
        for u, p in list(cases.values())[:5]
    }
    flash_lines = {
        next(line for line in page.splitlines() if 'class="flash' in line) for page in pages
    }
    assert len(flash_lines) == 1


def test_guessing_the_current_password_counts_like_failed_logins(console: Console) -> None:
    """The finding: 25 wrong current passwords on /account/password, no wait, no custody
    event, then the right one accepted."""
    with console.app.app_context():
        create_user("guessed-one", role="prosecutor", unit="hanoi", password=PASSWORD)
    client = logged_in(console.app, "guessed-one")
    limit = ConsoleSettings().max_failed_logins
    form = {"new_password": "một mật khẩu mới rất dài", "repeat": "một mật khẩu mới rất dài"}
    for _ in range(limit - 1):
        wrong = send_form(client, "/account/password", {**form, "current_password": "guess"})
        assert wrong.status_code == 400
    last = send_form(client, "/account/password", {**form, "current_password": "guess"})
    assert last.status_code == 302 and "/login" in last.location  # the session ended
    assert client.get("/account/password").status_code in (302, 401)  # the cookie is spent
    failed = [e for e in events(console.app, "password_change_failed") if e.actor == "guessed-one"]
    assert len(failed) == limit
    # The same back-off as logins: from that address, even the right password waits now.
    assert attempt_login(console.app.test_client(), "guessed-one").status_code == 401
    assert attempt_login(console.app.test_client(), "guessed-one", address=OWNER).status_code == 302


def test_parallel_failures_are_all_counted(console: Console) -> None:
    """The finding: 24 parallel failures were counted as 16 (read, then write)."""
    attempts = 24
    settings = ConsoleSettings(max_failed_logins=50)
    start = threading.Barrier(attempts)

    def one_failure() -> None:
        with console.app.app_context():
            start.wait()
            backoff.note_failure("counted-one", ATTACKER, settings, datetime.now(UTC))
            db.session.commit()

    threads = [threading.Thread(target=one_failure) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with console.app.app_context():
        row = db.session.query(LoginBackoff).filter_by(username="counted-one").one()
        assert row.failures == attempts
