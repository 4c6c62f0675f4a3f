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
from web.models import Hearing, Unit, User
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


PROBER = "203.0.113.77"
PROBER_BROWSER = "ProbeBrowser/13.5"


def rows_of(console: Console, viewer: str, actor: str) -> list[tuple[str, bool]]:
    """(action, shown to ``viewer``) for every event ``actor`` wrote."""
    with console.app.app_context():
        scope = EventScope(db.session.query(User).filter_by(username=viewer).one())
        return [(e.action, scope.shows(e)) for e in custody_log().entries() if e.actor == actor]


def test_a_unit_named_in_a_request_files_nothing(console: Console) -> None:
    """The finding: GET /clips/?unit=hcm put a hanoi prosecutor's row, with address and
    browser, into hcm's view and out of hanoi's."""
    with console.app.app_context():
        create_user("prober", role="prosecutor", unit="hanoi", password=PASSWORD)
    client = logged_in(console.app, "prober")
    client.environ_base.update({"REMOTE_ADDR": PROBER, "HTTP_USER_AGENT": PROBER_BROWSER})
    client.get("/clips/?unit=danang")
    client.get("/clips/?unit=nowhere")
    # A refused access to another unit's session: filed under the actor's unit.
    assert client.get(f"/sessions/{console.other_session}").status_code == 404
    mine = dict.fromkeys(a for a, _ in rows_of(console, "auditor", "prober"))
    assert {"list_clips", "access_denied"} <= set(mine)
    assert all(shown for _a, shown in rows_of(console, "auditor", "prober"))
    assert not any(shown for _a, shown in rows_of(console, "auditor-danang", "prober"))
    page = logged_in(console.app, "auditor-danang").get("/custody/").get_data(as_text=True)
    assert PROBER not in page and PROBER_BROWSER not in page


def test_a_refused_custody_session_view_is_filed_under_the_viewer(console: Console) -> None:
    auditor = logged_in(console.app, "auditor-bd")
    auditor.environ_base.update({"REMOTE_ADDR": PROBER})
    assert auditor.get(f"/custody/?session={console.other_session}").status_code == 404
    denials = [(a, s) for a, s in rows_of(console, "auditor-danang", "auditor-bd")]
    assert ("access_denied", False) in denials
    assert ("access_denied", True) in rows_of(console, "auditor", "auditor-bd")


def test_earlier_events_stay_with_the_unit_they_happened_in(console: Console) -> None:
    """The finding: after a prosecutor moved from hanoi to hcm, hcm's auditors saw his hanoi
    logins (with address and browser) and hanoi's no longer did."""
    with console.app.app_context():
        create_user("mover", role="prosecutor", unit="hanoi", password=PASSWORD)
    logged_in(console.app, "mover")
    with console.app.app_context():
        mover = db.session.query(User).filter_by(username="mover").one()
        mover.unit = db.session.query(Unit).filter_by(code="danang").one()
        db.session.commit()
    logged_in(console.app, "mover")
    in_hanoi = [shown for a, shown in rows_of(console, "auditor", "mover") if a == "login"]
    in_danang = [shown for a, shown in rows_of(console, "auditor-danang", "mover") if a == "login"]
    assert in_hanoi == [True, False] and in_danang == [False, True]
