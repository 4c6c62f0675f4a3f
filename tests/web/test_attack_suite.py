"""The penetration test of issue 13, repeated: each finding that failed is attacked again here
and must now hold. Province A is ``hanoi`` (with ``hanoi-bd`` below it), province B is
``danang``. Findings checked in depth elsewhere are repeated here in their shortest form:

- the custody views ignore units ..................... here (and web/custody/test_scope.py)
- logout does not end a session ...................... here (and web/auth/test_sessions.py)
- accounts cannot be managed ......................... here (and web/auth/test_accounts.py)
- lockout can be abused; login timing ................ here (and web/auth/test_lockout.py)
- separation of duties ............................... here (and web/auth/test_two_person.py)
- exports leak ....................................... here
- control characters in case data .................... here (and web/test_plain_text.py)
- the data directory is readable by every local user . here (and evidence_store/installation)
- the recorder accepts any unit ...................... recorder/service/test_unit_rule.py
- a session under an unknown unit is invisible ....... here
- a one-character secret key ......................... web/auth/test_sessions.py
- diagram conversions without a limit ................ web/diagrams/test_queue.py
- no recorder token: no warning, terminal 500 ......... here

The second penetration test (of the work above), each finding repeated where it belongs:

- one administrator walks around the two-person rule (an administrator made at once, then
  approving; a password reset to log in as a prosecutor) ... web/auth/test_two_person.py
- ``LOGNAME=mallory sealroom users approve`` .............. web/auth/test_two_person.py
- unlimited guesses of the current password ............... web/auth/test_lockout.py
- ``sealroom export --operator`` with line breaks ......... web/test_plain_text.py
- custody rows filed under a unit a request named, denials
  under the target's unit, events following a moved actor .. web/custody/test_scope.py
- weak passwords (``123456789012``, ``dragondragon``...) .... web/auth/test_accounts.py
- ``recorder serve --room $'R\\nX'``; U+200B, U+200F, U+061C;
  a trailing line break stripped ......................... web/test_plain_text.py
- parallel failed logins counted short .................... web/auth/test_lockout.py
- the diagram queue holding console threads ............... web/diagrams/test_queue.py
"""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from tests.support.accounts import attempt_login, events, logged_in, send_form
from tests.support.console import PASSWORD, Console, build_console, record_session
from tests.support.exports import run_verify
from web.app import create_app
from web.audit import custody_log
from web.auth import create_user
from web.evidence import evidence_store
from web.exports.package import Exporter, build_export, session_spec
from web.extensions import db
from web.models import Clip, User
from web.settings import ConsoleSettings

A_ADDRESS = "203.0.113.21"
A_BROWSER = "HanoiBrowser/1.0 (Procuracy)"
A_NOTE = "GHI CHÚ CHUNG của kiểm sát viên"  # shared with the case team
A_PRIVATE_NOTE = "GHI CHÚ RIÊNG của kiểm sát viên"  # "only for me"
A_TITLE = "TIÊU ĐỀ đoạn trích Hà Nội"
A_REASON = "LÝ DO xuất theo yêu cầu luật sư"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("pentest"))
    with built.app.app_context():
        for role in ("auditor", "supervisor", "prosecutor"):
            create_user(f"{role}-danang", role=role, unit="danang", password=PASSWORD)
    a_side(built)
    return built


def a_side(console: Console) -> None:
    """Province A's people at work, from their own address and browser."""
    client = console.app.test_client()
    client.environ_base.update({"REMOTE_ADDR": A_ADDRESS, "HTTP_USER_AGENT": A_BROWSER})
    assert attempt_login(client, "prosecutor", address=A_ADDRESS).status_code == 302
    own = console.own_session
    client.get(f"/sessions/{own}")
    send_form(
        client,
        f"/sessions/{own}",
        {"offset_ms": "10", "note": A_NOTE},
        f"/sessions/{own}/bookmarks",
    )
    send_form(
        client,
        f"/sessions/{own}",
        {"offset_ms": "20", "note": A_PRIVATE_NOTE, "private": "y"},
        f"/sessions/{own}/bookmarks",
    )
    sent = send_form(
        client,
        f"/clips/new?session_id={own}",
        {"session_id": own, "title": A_TITLE, "exhibit_number": "VC-7", "start": "0", "end": "0.5"},
        "/clips/new",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)[:300]
    asked = send_form(client, "/exports/", {"session_id": own, "reason": A_REASON})
    assert asked.status_code == 302
    # Province B tries A's session: refused (404) and logged with the session's id.
    intruder = logged_in(console.app, "prosecutor-danang")
    assert intruder.get(f"/sessions/{own}").status_code == 404


A_SECRETS = ("VKS-1/2026", A_TITLE, A_NOTE, A_PRIVATE_NOTE, A_REASON, A_ADDRESS, A_BROWSER)


@pytest.mark.parametrize("viewer", ["auditor-danang", "supervisor-danang"])
def test_province_b_reads_nothing_of_province_a_in_the_custody_log(
    console: Console, viewer: str
) -> None:
    page = logged_in(console.app, viewer).get("/custody/").get_data(as_text=True)
    leaked = [secret for secret in A_SECRETS if secret in page]
    assert leaked == []
    assert "prosecutor-danang" in page  # B's own people are B's to audit


@pytest.mark.parametrize("viewer", ["auditor", "supervisor"])
def test_province_a_reads_a_shared_note_but_not_a_private_one(
    console: Console, viewer: str
) -> None:
    page = logged_in(console.app, viewer).get("/custody/").get_data(as_text=True)
    assert A_ADDRESS in page and "bookmark_added" in page
    # Shared with the case team: the team reads it in the log as on the session page.
    assert A_NOTE in page
    assert A_NOTE in logged_in(console.app, viewer).get(
        f"/sessions/{console.own_session}"
    ).get_data(as_text=True)
    # Only for its author: hidden from everyone else, the auditor included.
    assert A_PRIVATE_NOTE not in page and "(private)" in page
    mine = logged_in(console.app, "prosecutor").get(f"/sessions/{console.own_session}")
    assert A_PRIVATE_NOTE in mine.get_data(as_text=True)  # the author still reads it


def test_another_units_session_filter_is_a_404_and_logged(console: Console) -> None:
    auditor = logged_in(console.app, "auditor-danang")
    before = len(events(console.app, "access_denied"))
    assert auditor.get(f"/custody/?session={console.own_session}").status_code == 404
    denied = events(console.app, "access_denied")
    assert len(denied) == before + 1
    assert (denied[-1].actor, denied[-1].session_id) == ("auditor-danang", console.own_session)
    assert auditor.get(f"/custody/?session={console.other_session}").status_code == 200


def test_a_cookie_replayed_after_logout_is_refused(console: Console) -> None:
    victim = logged_in(console.app, "court-clerk")
    cookie = victim.get_cookie("sealroom_session")
    assert cookie is not None
    send_form(victim, "/sessions/", {}, to="/logout")
    thief = console.app.test_client()
    thief.set_cookie("sealroom_session", cookie.value)
    replayed = thief.get(
        "/sessions/", headers={"Accept": "text/html"}, environ_base={"REMOTE_ADDR": "198.51.100.3"}
    )
    assert replayed.status_code == 302 and "/login" in replayed.location


def test_accounts_can_be_managed(console: Console) -> None:
    admin = logged_in(console.app, "admin")
    weak = send_form(
        admin,
        "/admin/users",
        {"username": "admin-x", "role": "admin", "unit": "supreme", "password": "password1234"},
    )
    assert weak.status_code == 400
    with console.app.app_context():
        target = db.session.query(User).filter_by(username="investigator-danang").one().id
    one_click = send_form(admin, f"/admin/users/{target}", {}, to=f"/admin/users/{target}/disable")
    assert one_click.status_code == 400  # no confirmation, no change
    assert attempt_login(console.app.test_client(), "investigator-danang").status_code == 302


def test_lockout_cannot_be_held_and_costs_no_less(console: Console) -> None:
    for _ in range(6):
        attempt_login(console.app.test_client(), "admin", "guess", address="198.51.100.99")
    assert (
        attempt_login(console.app.test_client(), "admin", address="192.0.2.44").status_code == 302
    )


def test_an_administrator_alone_cannot_make_a_supreme_auditor(console: Console) -> None:
    admin = logged_in(console.app, "admin")
    send_form(
        admin,
        "/admin/users",
        {"username": "toi-cao", "role": "auditor", "unit": "supreme", "password": PASSWORD},
    )
    assert attempt_login(console.app.test_client(), "toi-cao").status_code == 401
    assert events(console.app, "account_change_requested")[-1].detail["username"] == "toi-cao"


def test_an_export_carries_no_address_browser_note_or_other_units_row(
    console: Console, tmp_path: Path
) -> None:
    with console.app.app_context():
        source = Exporter(console.data, evidence_store(), custody_log())
        package = build_export(
            source, session_spec(console.own_session), tmp_path / "package",
            exported_by="prosecutor", as_zip=False,
        )  # fmt: skip
        log = custody_log().entries(session_id=console.own_session)
    text = (package.path / "custody.json").read_text(encoding="utf-8")
    excerpt = json.loads(text)
    secrets = (A_ADDRESS, A_BROWSER, A_NOTE, A_PRIVATE_NOTE, A_REASON, "prosecutor-danang")
    for secret in (*secrets, "access_denied"):
        assert secret not in text, secret
    assert any(e.actor == "prosecutor-danang" for e in log)  # it was in the office's log
    actions = [e["action"] for e in excerpt["entries"]]
    assert "bookmark_added" in actions and "view" in actions  # who did what stays
    checked = run_verify(package.path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_clip_title_cannot_inject_markdown_into_the_readme(
    console: Console, tmp_path: Path
) -> None:
    """A title stored before the rule (new ones are refused) is escaped in the README."""
    with console.app.app_context():
        clip = db.session.query(Clip).filter_by(title=A_TITLE).one()
        clip.title = "Lời khai\n\n# KẾT LUẬN: bị can vô tội\n[xem](http://x.example)"
        db.session.commit()
        from web.exports.package import clip_spec

        spec = clip_spec(clip.id)
        source = Exporter(console.data, evidence_store(), custody_log())
        package = build_export(source, spec, tmp_path / "clip", exported_by="p", as_zip=False)
    for readme in ("README.en.md", "README.vi.md"):
        lines = (package.path / readme).read_text(encoding="utf-8").splitlines()
        assert not any(line.startswith("# KẾT LUẬN") for line in lines), readme
        assert not any("[xem](http" in line for line in lines), readme
    assert run_verify(package.path).returncode == 0


def test_a_newline_in_a_case_number_is_refused_at_the_terminal(console: Console) -> None:
    investigator = logged_in(console.app, "investigator")
    sent = send_form(
        investigator,
        "/terminal/room1/start",
        {"case_number": "A\nB", "accused": "X", "investigators": "Y", "others_present": ""},
    )
    assert sent.status_code == 400 and "line break" in sent.get_data(as_text=True)


def test_a_session_under_an_unknown_unit_is_the_roots(console: Console) -> None:
    lost = record_session(console.data, "no-such-unit", "VKS-LOST/2026", b"\x00" * 1024)
    with console.app.app_context():
        create_user("vks-toi-cao", role="prosecutor", unit="supreme", password=PASSWORD)
    top = logged_in(console.app, "vks-toi-cao")
    assert lost in top.get("/sessions/").get_data(as_text=True)
    assert top.get(f"/sessions/{lost}").status_code == 200
    assert logged_in(console.app, "prosecutor").get(f"/sessions/{lost}").status_code == 404


def test_the_data_directory_is_not_for_other_users(console: Console) -> None:
    root = console.data.root
    for name in ("console.db", "custody.db", "console-secret", "evidence"):
        mode = stat.S_IMODE((root / name).stat().st_mode)
        assert mode & 0o077 == 0, (name, oct(mode))
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_without_a_room_key_the_console_warns_and_the_terminal_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Each room's token is made from the installation's room key: a key file that cannot
    be read is said at start, and the terminal says no credential, never "recording"."""
    monkeypatch.delenv("SEALROOM_ROOM_KEY", raising=False)
    absent = tmp_path / "absent-room-key"
    with caplog.at_level(logging.WARNING):
        console = build_console(tmp_path / "data", settings=ConsoleSettings(room_key_file=absent))
    assert "no recorder credential" in caplog.text
    investigator = logged_in(console.app, "investigator")
    status = investigator.get("/terminal/room1/status.json")
    assert status.status_code == 503 and status.get_json()["reachable"] is False
    assert "no credential" in status.get_json()["error"]
    started = send_form(
        investigator,
        "/terminal/room1/start",
        {"case_number": "VKS-8", "accused": "X", "investigators": "Y", "others_present": ""},
    )
    assert started.status_code == 503 and "no credential" in started.get_data(as_text=True)
    assert create_app  # the same factory every console starts from
