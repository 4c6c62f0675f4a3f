"""Separation of duties: an administrator cannot alone create or promote an account that reads
evidence (the finding: an administrator created a supreme-level auditor who read and played
everything, and the only trace was ``user_created``). A second administrator approves; the
request and the decision are custody events and auditors see them."""

from __future__ import annotations

import json
import os
import pwd

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
    assert "spy" in listing and "admin" in listing and "waiting for a decision" in listing
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
    # The finding: LOGNAME=mallory made the command line a second person. It is not one.
    approve = ("users", "approve", "--change", str(change), "--data-dir", data)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOGNAME", "mallory")
        env.setenv("USER", "mallory")
        nobody = sealroom_here(*approve)
        assert nobody.returncode == 2 and "--as" in nobody.stderr
        wrong = sealroom_here(*approve, "--as", "admin-2", stdin="not the password\n")
        assert wrong.returncode == 2 and "wrong username or password" in wrong.stderr
        assert attempt_login(console.app.test_client(), "kiem-sat").status_code == 401
        approved = sealroom_here(*approve, "--as", "admin-2", stdin=ADMIN_PASSWORD + "\n")
    assert approved.returncode == 0, approved.stderr
    assert attempt_login(console.app.test_client(), "kiem-sat").status_code == 302
    (failed,) = [e for e in events(console.app, "login_failed") if e.actor == "admin-2"]
    assert failed.detail["via"] == "command line"
    decision = events(console.app, "account_change_approved")[-1]
    os_user = pwd.getpwuid(os.geteuid()).pw_name
    assert decision.actor == "admin-2" and decision.role == "admin"
    assert decision.detail["os_user"].startswith(f"{os_user}@")
    assert "mallory" not in json.dumps([decision.detail, failed.detail])


def test_the_command_line_approver_is_not_the_requester(console: Console) -> None:
    admin = logged_in(console.app, "admin")
    send_form(
        admin,
        "/admin/users",
        {"username": "kiem-sat-2", "role": "prosecutor", "unit": "hanoi", "password": PASSWORD},
    )
    (change,) = change_ids(console)
    data = str(console.data.root)
    approve = ("users", "approve", "--change", str(change), "--as", "admin", "--data-dir", data)
    same = sealroom_here(*approve, stdin=PASSWORD + "\n")
    assert same.returncode == 2 and "second administrator" in same.stderr
    auditor = ("users", "refuse", "--change", str(change), "--as", "auditor-top")
    not_admin = sealroom_here(*auditor, "--data-dir", data, stdin=PASSWORD + "\n")
    assert not_admin.returncode == 2 and "not an administrator" in not_admin.stderr
    with console.app.app_context():
        assert db.session.get(AccountChange, change).status == "pending"


def test_one_administrator_cannot_make_another_to_approve_himself(console: Console) -> None:
    """The finding: admin1 created ``sockadmin`` at once, asked for a supreme auditor, then
    approved it as sockadmin. Making an administrator now waits like any path to evidence."""
    admin = logged_in(console.app, "admin")
    sock = {"username": "sockadmin", "role": "admin", "unit": "supreme", "password": PASSWORD}
    assert send_form(admin, "/admin/users", sock).status_code == 302
    assert attempt_login(console.app.test_client(), "sockadmin").status_code == 401
    with console.app.app_context():
        colluder = create_user("colluder", role="investigator", unit="hanoi", password=PASSWORD)
        colluder_id = colluder.id
    page = f"/admin/users/{colluder_id}"
    send_form(admin, page, {"role": "admin"}, to=f"{page}/role")
    with console.app.app_context():
        assert db.session.get(User, colluder_id).role == "investigator"
        kinds = [c.kind for c in db.session.query(AccountChange).order_by(AccountChange.id)]
    assert kinds == ["create", "role"]


def test_an_administrator_cannot_take_over_an_account_by_its_password(console: Console) -> None:
    """The finding: admin1 reset an hcm prosecutor's password, logged in as him and read his
    unit's sessions. A password an administrator sets now waits for a second one."""
    with console.app.app_context():
        create_user("pro-hcm", role="prosecutor", unit="danang", password=PASSWORD)
        target = db.session.query(User).filter_by(username="pro-hcm").one().id
    admin = logged_in(console.app, "admin")
    page = f"/admin/users/{target}"
    chosen = "mật khẩu quản trị viên chọn 77"
    send_form(admin, page, {"password": chosen}, to=f"{page}/password")
    assert attempt_login(console.app.test_client(), "pro-hcm", chosen).status_code == 401
    assert attempt_login(console.app.test_client(), "pro-hcm").status_code == 302  # still his
    (change,) = change_ids(console)
    with console.app.app_context():
        pending = db.session.get(AccountChange, change)
        assert pending.kind == "password" and chosen not in (pending.password_hash or "")
    # Another administrator's password likewise.
    with console.app.app_context():
        other = db.session.query(User).filter_by(username="admin-2").one().id
    send_form(
        admin, f"/admin/users/{other}", {"password": chosen}, to=f"/admin/users/{other}/password"
    )
    assert attempt_login(console.app.test_client(), "admin-2", chosen).status_code == 401
    second = logged_in(console.app, "admin-2", ADMIN_PASSWORD)
    send_form(second, "/admin/approvals", {}, to=f"/admin/approvals/{change}/approve")
    assert attempt_login(console.app.test_client(), "pro-hcm").status_code == 401
    assert attempt_login(console.app.test_client(), "pro-hcm", chosen).status_code == 302
    with console.app.app_context():
        assert db.session.get(AccountChange, change).password_hash is None  # not kept
        assert db.session.get(User, target).must_change_password


@pytest.mark.slow
def test_the_first_administrator_appoints_the_second(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Bootstrap: alone, the first administrator makes the second at once (marked in
    custody); from then on making a third waits."""
    alone = build_console(tmp_path_factory.mktemp("alone"))
    admin = logged_in(alone.app, "admin")
    for name in ("second-admin", "third-admin"):
        form = {"username": name, "role": "admin", "unit": "supreme", "password": PASSWORD}
        send_form(admin, "/admin/users", form)
    assert attempt_login(alone.app.test_client(), "second-admin").status_code == 302
    assert attempt_login(alone.app.test_client(), "third-admin").status_code == 401
    made = [e.detail for e in events(alone.app, "user_created") if e.actor == "admin"]
    assert [d.get("bootstrap", False) for d in made] == [True, False]
