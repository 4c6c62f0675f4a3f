"""What an event of the custody log is about, and so who sees it: a session's unit, else the
unit of the clip, hearing, diagram or export it names, else the unit or account it names,
else the unit of whoever acted; the viewer's own actions always."""

from __future__ import annotations

import pytest

from tests.support.accounts import logged_in, send_form
from tests.support.console import PASSWORD, Console, build_console
from web.audit import custody_log
from web.auth import create_user
from web.extensions import db
from web.models import Hearing, User
from web.visibility import EventScope


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("console"))
    with built.app.app_context():
        create_user("auditor-danang", role="auditor", unit="danang", password=PASSWORD)
        create_user("auditor-bd", role="auditor", unit="hanoi-bd", password=PASSWORD)
    clerk = logged_in(built.app, "court-clerk")
    send_form(
        clerk,
        "/hearings/",
        {"case_number": "VKS-H/2026", "court": "TAND Hà Nội", "hearing_date": "2026-06-01"},
    )
    logged_in(built.app, "investigator-danang").get("/terminal/")
    return built


def unit_of_each(console: Console, viewer: str) -> list[tuple[str, str, bool]]:
    """(action, unit the event is about, shown to ``viewer``) for every event."""
    with console.app.app_context():
        user = db.session.query(User).filter_by(username=viewer).one()
        scope = EventScope(user)
        return [(e.action, scope.unit_of_event(e), scope.shows(e)) for e in custody_log().entries()]


def test_what_an_event_is_about(console: Console) -> None:
    found = unit_of_each(console, "auditor")
    with console.app.app_context():
        hearing = db.session.query(Hearing).one()
    assert ("hearing_created", hearing.unit_code, True) in found
    logins = {(unit, shown) for action, unit, shown in found if action == "login"}
    assert ("danang", False) in logins and ("hanoi", True) in logins


def test_a_lower_unit_sees_less_and_its_own_actions(console: Console) -> None:
    page = logged_in(console.app, "auditor-bd").get("/custody/").get_data(as_text=True)
    below = page.split('id="custody"', 1)[1]  # the events, not the menu of every action
    assert "hearing created" not in below  # the hearing is hanoi's, above hanoi-bd
    assert "auditor-bd" in below  # its own login
    sideways = unit_of_each(console, "auditor-danang")
    assert {a for a, _u, shown in sideways if shown} >= {"login"}
    assert not any(a == "hearing_created" and shown for a, _u, shown in sideways)


def test_the_session_page_shows_addresses_to_auditors_only(console: Console) -> None:
    url = f"/sessions/{console.own_session}"
    prosecutor = logged_in(console.app, "prosecutor").get(url).get_data(as_text=True)
    auditor = logged_in(console.app, "auditor").get(url).get_data(as_text=True)
    assert "<th>IP</th>" in auditor and "<th>IP</th>" not in prosecutor
