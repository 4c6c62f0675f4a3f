"""Separation of duties: an administrator cannot alone create or promote an account that reads
evidence (the finding: an administrator created a supreme-level auditor who read and played
everything, and the only trace was ``user_created``). A second administrator approves; the
request and the decision are custody events and auditors see them."""

from __future__ import annotations

import pytest

from tests.support.accounts import (
    ADMIN_PASSWORD,
    attempt_login,
    events,
    flashes,
    logged_in,
    send_form,
)
from tests.support.cli import sealroom_here
from tests.support.console import PASSWORD, Console, build_console
from web.auth import create_user
from web.extensions import db
from web.models import AccountChange, User


@pytest.fixture
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("console"))  # the rule is on by default
    with built.app.app_context():
        create_user("admin-2", role="admin", unit="supreme", password=ADMIN_PASSWORD)
        create_user("auditor-top", role="auditor", unit="supreme", password=PASSWORD)
    return built


def change_ids(console: Console) -> list[int]:
    with console.app.app_context():
        return [c.id for c in db.session.query(AccountChange).order_by(AccountChange.id)]


def test_a_supreme_auditor_needs_a_second_administrator(console: Console) -> None:
    admin = logged_in(console.app, "admin")
    made = send_form(
        admin,
        "/admin/users",
        {"username": "spy", "role": "auditor", "unit": "supreme", "password": PASSWORD},
    )
    assert made.status_code == 302
    assert attempt_login(console.app.test_client(), "spy").status_code == 401  # not yet
    (change,) = change_ids(console)
    # The one who asked cannot approve.
    own = send_form(admin, "/admin/approvals", {}, to=f"/admin/approvals/{change}/approve")
    assert any("second administrator" in m for m in flashes(admin.get(own.location)))
    assert attempt_login(console.app.test_client(), "spy").status_code == 401
    # Auditors see the request, with who asked for it.
    listing = logged_in(console.app, "auditor-top").get("/admin/approvals").get_data(as_text=True)
    assert "spy" in listing and "admin" in listing and "pending" in listing
    second = logged_in(console.app, "admin-2", ADMIN_PASSWORD)
    send_form(second, "/admin/approvals", {}, to=f"/admin/approvals/{change}/approve")
    assert attempt_login(console.app.test_client(), "spy").status_code == 302
    requested = events(console.app, "account_change_requested")[-1]
    approved = events(console.app, "account_change_approved")[-1]
    assert (requested.actor, requested.detail["username"]) == ("admin", "spy")
    assert (approved.actor, approved.detail["requested_by"]) == ("admin-2", "admin")


def test_promotion_waits_and_can_be_refused(console: Console) -> None:
    with console.app.app_context():
        create_user("clerk-admin", role="admin", unit="hanoi", password=PASSWORD)
        target = db.session.query(User).filter_by(username="clerk-admin").one().id
    admin = logged_in(console.app, "admin")
    page = f"/admin/users/{target}"
    send_form(admin, page, {"role": "auditor"}, to=f"{page}/role")
    with console.app.app_context():
        assert db.session.get(User, target).role == "admin"  # unchanged until approved
    (change,) = change_ids(console)
    second = logged_in(console.app, "admin-2", ADMIN_PASSWORD)
    send_form(second, "/admin/approvals", {}, to=f"/admin/approvals/{change}/refuse")
    with console.app.app_context():
        assert db.session.get(User, target).role == "admin"
    assert events(console.app, "account_change_refused")[-1].actor == "admin-2"
    # A role that reads no evidence needs no second administrator.
    send_form(admin, page, {"unit": "danang"}, to=f"{page}/unit")
    with console.app.app_context():
        assert db.session.get(User, target).unit.code == "danang"


def test_the_command_line_follows_the_rule(console: Console) -> None:
    data = str(console.data.root)
    made = sealroom_here(
        "users",
        "create",
        "--username",
        "kiem-sat",
        "--role",
        "auditor",
        "--unit",
        "supreme",
        "--password-stdin",
        "--data-dir",
        data,
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0 and "waiting for a second administrator" in made.stdout
    (change,) = change_ids(console)
    same = sealroom_here("users", "approve", "--change", str(change), "--data-dir", data)
    assert same.returncode == 2 and "second administrator" in same.stderr
    second = logged_in(console.app, "admin-2", ADMIN_PASSWORD)
    send_form(second, "/admin/approvals", {}, to=f"/admin/approvals/{change}/approve")
    assert attempt_login(console.app.test_client(), "kiem-sat").status_code == 302
