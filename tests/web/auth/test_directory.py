"""Directory login against a real OpenLDAP server (``tests/support/ldap.py``): role and unit
from the account's groups, a wrong password, a disabled account, an account in no role group,
a server that is down (a clear message, local accounts still log in), and the same argon2
work as a local login whatever the outcome."""

from __future__ import annotations

import pytest

from tests.support.accounts import CountingHasher, attempt_login, events, flashes
from tests.support.console import Console, build_console
from tests.support.ldap import DIRECTORY_PASSWORD, Directory, free_port
from web.extensions import db
from web.models import DIRECTORY, User
from web.settings import ConsoleSettings


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, directory: Directory) -> Console:
    settings = ConsoleSettings(directory=directory.settings(), login_attempts_per_minute=1000)
    return build_console(tmp_path_factory.mktemp("console"), settings=settings)


def account(console: Console, username: str) -> tuple[str, str, str] | None:
    with console.app.app_context():
        found = db.session.query(User).filter_by(username=username).one_or_none()
        return (found.role, found.unit.code, found.source) if found else None


def test_a_directory_account_logs_in_with_the_role_and_unit_of_its_groups(
    console: Console,
) -> None:
    client = console.app.test_client()
    response = attempt_login(client, "ana.kiem", DIRECTORY_PASSWORD)
    assert response.status_code == 302
    assert account(console, "ana.kiem") == ("auditor", "hanoi", DIRECTORY)
    assert client.get("/custody/").status_code == 200  # an auditor's page
    assert client.get("/admin/users").status_code == 403
    attempt_login(console.app.test_client(), "binh.to", DIRECTORY_PASSWORD)
    assert account(console, "binh.to") == ("prosecutor", "hanoi-bd", DIRECTORY)


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("ana.kiem", "not her password", "directory: wrong password"),
        ("cuong.khoa", DIRECTORY_PASSWORD, "directory: account disabled"),
        ("dung.le", DIRECTORY_PASSWORD, "directory: in no directory group that gives a role"),
        ("nobody.here", DIRECTORY_PASSWORD, "directory: unknown user"),
    ],
)
def test_refused_directory_logins(
    console: Console, username: str, password: str, reason: str, argon2_count: CountingHasher
) -> None:
    client = console.app.test_client()
    client.get("/language/en")
    before = argon2_count.verifications
    response = attempt_login(client, username, password)
    assert response.status_code == 401
    assert argon2_count.verifications - before == 1  # the work of a local login, no more
    assert events(console.app, "login_failed")[-1].detail["reason"] == reason
    assert any("Wrong username or password" in m for m in flashes(response))


def test_a_directory_that_is_down(
    tmp_path_factory: pytest.TempPathFactory, directory: Directory, argon2_count: CountingHasher
) -> None:
    nothing_there = f"ldap://127.0.0.1:{free_port()}"
    settings = ConsoleSettings(directory=directory.settings(url=nothing_there))
    console = build_console(tmp_path_factory.mktemp("down"), settings=settings)
    client = console.app.test_client()
    client.get("/language/en")
    before = argon2_count.verifications
    response = attempt_login(client, "ana.kiem", DIRECTORY_PASSWORD)
    assert response.status_code == 401 and argon2_count.verifications - before == 1
    assert any("directory cannot be reached" in m for m in flashes(response))
    assert (
        events(console.app, "login_failed")[-1].detail["reason"].startswith("directory unreachable")
    )
    # Local accounts are not affected.
    assert attempt_login(console.app.test_client(), "prosecutor").status_code == 302


def test_a_directory_account_disabled_in_the_console_stays_out(console: Console) -> None:
    attempt_login(console.app.test_client(), "binh.to", DIRECTORY_PASSWORD)
    with console.app.app_context():
        db.session.query(User).filter_by(username="binh.to").one().active = False
        db.session.commit()
    refused = attempt_login(console.app.test_client(), "binh.to", DIRECTORY_PASSWORD)
    assert refused.status_code == 401
    assert events(console.app, "login_failed")[-1].detail["reason"] == "account disabled"
