"""Every metadata field of the console refuses control characters (newline, tab, C0/C1, line
and paragraph separators) with a clear message, 400, before anything is written; and the
command line refuses them with exit status 2. (The recorder's API: tests/recorder/service/
test_unit_rule.py; the evidence model: tests/evidence_store/test_plain_text.py.)

The finding: a newline in a case number broke a recording after its first link (the session
stayed "open" and the terminal showed "internal error: RuntimeError"), and
``sealroom record --case $'A\\nB'`` exited 70."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.accounts import events, flashes, logged_in, send_form
from tests.support.cli import SMALL, sealroom_here
from tests.support.console import Console, build_console
from tests.support.diagrams import png_bytes, upload
from web.audit import custody_log
from web.extensions import db
from web.models import User
from web.settings import ConsoleSettings

BAD = "VKS-1\n# 2026"
START = {
    "case_number": "VKS-9/2026",
    "accused": "Nguyễn Văn A",
    "investigators": "Trần Thị B",
    "others_present": "Lê Văn C:luật sư",
}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return build_console(
        tmp_path_factory.mktemp("console"), settings=ConsoleSettings(two_person_rule=False)
    )


def custody_rows(console: Console) -> int:
    with console.app.app_context():
        return len(custody_log().entries())


def refused(
    console: Console, client: FlaskClient, page: str, data: dict[str, Any], to: str | None = None
) -> list[str]:
    """Send the form; assert 400 and that nothing but the refusal was logged."""
    before = custody_rows(console)
    response = send_form(client, page, data, to=to)
    assert response.status_code == 400, (page, data, response.status_code)
    text = response.get_data(as_text=True)
    after = custody_rows(console)
    # The page may have been viewed (GET) to take its token; the refusal adds nothing.
    assert after - before <= 2, (page, data)
    return flashes(response) or [text]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("case_number", BAD),
        ("case_number", "VKS\t1"),
        ("case_number", "VKS\u20281"),
        ("accused", "Nguyễn Văn A\tB"),
        ("investigators", "Trần\x00Thị B"),
        ("others_present", "Lê Văn C:luật\u0085sư"),
        # Later findings: invisible format characters, and a trailing line break.
        ("case_number", "VKS\u200f1"),
        ("case_number", "VKS\u061c1"),
        ("accused", "Nguyễn\u200bVăn A"),
        ("case_number", "VKS-1\n"),
    ],
)
def test_the_terminal_refuses_control_characters_before_the_recorder_is_asked(
    console: Console, field: str, value: str
) -> None:
    investigator = logged_in(console.app, "investigator")
    messages = refused(console, investigator, "/terminal/room1/start", {**START, field: value})
    assert any("write it on one line" in m for m in messages), messages
    assert events(console.app, "session_started") == []  # the recorder was never asked


def test_one_item_per_line_is_still_one_per_line(console: Console) -> None:
    investigator = logged_in(console.app, "investigator")
    sent = send_form(
        investigator, "/terminal/room1/start", {**START, "accused": "Nguyễn Văn A\r\nLê Thị B"}
    )
    assert sent.status_code == 503  # accepted, then: no recorder at this address


def test_a_stop_reason_with_a_line_break_is_refused(console: Console) -> None:
    investigator = logged_in(console.app, "investigator")
    messages = refused(
        console,
        investigator,
        "/terminal/room1",
        {"reason_other": "hết giờ\nthêm dòng"},
        to="/terminal/room1/stop",
    )
    assert any("line break" in m for m in messages)


def test_the_reviewers_forms(console: Console) -> None:
    prosecutor = logged_in(console.app, "prosecutor")
    own = console.own_session
    note = refused(
        console,
        prosecutor,
        f"/sessions/{own}",
        {"offset_ms": "10", "note": "ghi chú\tbí mật"},
        to=f"/sessions/{own}/bookmarks",
    )
    assert any("tab" in m for m in note)
    clip = {"session_id": own, "title": "T", "exhibit_number": "VC-1", "start": "0", "end": "1"}
    for field in ("title", "exhibit_number", "start", "end"):
        messages = refused(
            console, prosecutor, f"/clips/new?session_id={own}", {**clip, field: BAD}, "/clips/new"
        )
        assert any("line break" in m for m in messages), field
    hearing = {"case_number": "VKS-1/2026", "court": "TAND Hà Nội", "hearing_date": "2026-05-01"}
    for field in ("case_number", "court"):
        messages = refused(console, prosecutor, "/hearings/", {**hearing, field: BAD})
        assert any("line break" in m for m in messages), field
    made = send_form(prosecutor, "/hearings/", hearing)
    assert made.status_code == 302
    page = made.location
    number = refused(
        console,
        prosecutor,
        page,
        {"item": "clip-1", "exhibit_number": "VC\u20291"},
        f"{page}/exhibits",
    )
    assert any("U+2029" in m for m in number)
    titled = upload(prosecutor, png_bytes(), title="Sơ đồ\u2028hiện trường")
    assert titled.status_code == 400
    reason = refused(
        console, prosecutor, "/exports/", {"session_id": own, "reason": "theo yêu cầu\nluật sư"}
    )
    assert any("line break" in m for m in reason)


def test_the_administrators_forms(console: Console) -> None:
    admin = logged_in(console.app, "admin")
    user = {"username": "u-x", "display_name": "X", "role": "auditor", "unit": "hanoi"}
    new_user = {**user, "password": "ngõ nhỏ phố nhỏ 2026"}
    for field in ("username", "display_name"):
        messages = refused(console, admin, "/admin/users", {**new_user, field: BAD})
        assert any("line break" in m for m in messages), field
    # Units are picked from a list: a typed one (control characters or not) is not a choice.
    picked = "Choose a unit from the list."
    assert picked in "".join(refused(console, admin, "/admin/users", {**new_user, "unit": BAD}))
    unit = {"code": "hue", "name": "VKS Huế", "parent": "supreme"}
    for field in ("code", "name"):
        assert any(
            "line break" in m for m in refused(console, admin, "/admin/units", {**unit, field: BAD})
        )
    assert picked in "".join(refused(console, admin, "/admin/units", {**unit, "parent": BAD}))
    with console.app.app_context():
        target = db.session.query(User).filter_by(username="auditor").one().id
    moved = refused(
        console, admin, f"/admin/users/{target}", {"unit": "ha\tnoi"}, f"/admin/users/{target}/unit"
    )
    assert any(picked in m for m in moved)
    room = {"code": "r9", "name": "Phòng 9", "unit": "hanoi", "recorder_url": "http://127.0.0.1:9"}
    for field in ("code", "name"):
        assert any(
            "line break" in m for m in refused(console, admin, "/admin/rooms", {**room, field: BAD})
        )
    assert picked in "".join(refused(console, admin, "/admin/rooms", {**room, "unit": "nowhere"}))


@pytest.mark.parametrize(
    "args",
    [
        ("--case", BAD),
        ("--case", "VKS-1", "--room", "P\t1"),
        ("--case", "VKS-1", "--accused", "A\u2028B"),
        ("--case", "VKS-1", "--investigator", "B\x1bC"),
        ("--case", "VKS-1", "--present", "Lê Văn C:luật\nsư"),
        ("--case", "VKS-1", "--unit", "ha\nnoi"),
        ("--case", "VKS-1\n"),
        ("--case", "VKS\u200f1"),
        ("--case", "VKS-1", "--accused", "A\u200bB"),
    ],
)
def test_sealroom_record_refuses_with_exit_status_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    room = ("--room", "P1") if "--room" not in args else ()
    ran = sealroom_here(
        "record", "--synthetic", *room, "--duration", "1", *args, *SMALL,
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    assert "write it on one line" in ran.stderr
    assert not (tmp_path / "evidence" / "sessions").exists() or not any(
        (tmp_path / "evidence" / "sessions").iterdir()
    )


def test_the_account_commands_refuse_too(tmp_path: Path) -> None:
    made = sealroom_here(
        "units", "create", "--code", "hue", "--parent", "supreme", "--name", "VKS\nHuế",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert made.returncode == 2 and "line break" in made.stderr
    user = sealroom_here(
        "users", "create", "--username", "lan", "--role", "admin", "--unit", "supreme",
        "--name", "Lan\tAnh", "--password-stdin", "--data-dir", str(tmp_path),
        stdin="ngõ nhỏ phố nhỏ 2026\n",
    )  # fmt: skip
    assert user.returncode == 2 and "tab" in user.stderr


def test_every_free_text_option_refuses_too(tmp_path: Path) -> None:
    """Later findings: ``sealroom export --operator`` wrote line breaks into the custody log
    (so ``sealroom custody log`` printed made-up entries), and ``sealroom recorder serve
    --room $'R\\nX'`` started and then refused every start."""
    out = tmp_path / "out"
    export = sealroom_here(
        "export", "s-20260101T000000Z-00000000", "--out", str(out),
        "--operator", "mallory\n2026-01-01 fake entry", "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert export.returncode == 2 and "line break" in export.stderr
    assert not out.exists()
    serve = sealroom_here(
        "recorder", "serve", "--room", "R\nX", "--synthetic", "--data-dir", str(tmp_path)
    )
    assert serve.returncode == 2 and "line break" in serve.stderr


def test_units_are_picked_from_the_units_the_console_knows(console: Console) -> None:
    admin = logged_in(console.app, "admin")
    with console.app.app_context():
        target = db.session.query(User).filter_by(username="auditor").one().id
        known = {code for (code,) in db.session.execute(db.text("SELECT code FROM units"))}
    for page in ("/admin/users", "/admin/units", "/admin/rooms", f"/admin/users/{target}"):
        html = admin.get(page).get_data(as_text=True)
        select = re.search(r'<select[^>]*name="(unit|parent)"[^>]*>(.*?)</select>', html, re.S)
        assert select is not None, page
        assert set(re.findall(r'<option[^>]*value="([^"]*)"', select.group(2))) == known, page
