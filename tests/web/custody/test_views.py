"""The custody log as people read it: pages of 100 newest first read by key from the database,
filters by who, what, when (days in the console's time zone) and session kept in every link,
actions by name and details as lines, the same filtered rows as a streamed CSV and a PDF, and
integrity from "Verify now". Only auditors and supervisors, each seeing their units."""

from __future__ import annotations

import ast
import csv
import io
import re
import sqlite3
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from flask.testing import FlaskClient

from tests.support.console import PASSWORD, Console, build_console, csrf_token, login
from web.audit import custody_log, record
from web.auth import create_user
from web.clips.media import parse_timecode
from web.courtroom.present import ACTIONS as PRESENTER_ACTIONS
from web.courtroom.present import custody_action
from web.custody import pages, views
from web.custody.pages import Filters
from web.labels import ACTION_LABELS

ROOT = Path(__file__).resolve().parents[3]
REMOVALS = 230  # bookmark_removed events of the own session (hanoi-bd)
ELSEWHERE = 40  # bookmark_removed events of the other session (danang)


def logged_in(console: Console, username: str) -> FlaskClient:
    """A client in the console's own language, Vietnamese."""
    client = console.app.test_client()
    login(client, username)
    return client


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("custody-views"))
    with built.app.test_request_context():
        create_user("auditor-bd", role="auditor", unit="hanoi-bd", password=PASSWORD)
        create_user("supervisor-danang", role="supervisor", unit="danang", password=PASSWORD)
        for n in range(REMOVALS):
            record(
                "bookmark_removed",
                session_id=built.own_session,
                detail={"offset_ms": n, "pages": [1, 2]},
                actor="auditor",
                role="auditor",
            )
        for n in range(ELSEWHERE):
            record(
                "bookmark_removed",
                session_id=built.other_session,
                detail={"offset_ms": 10_000 + n, "note": "Đà Nẵng"},
                actor="investigator-danang",
                role="investigator",
            )
    return built


def shown_offsets(page: str) -> list[int]:
    """The bookmarks' moments the page shows (hh:mm:ss.mmm, as every page writes one), in ms."""
    moments = re.findall(r"thời điểm trong phiên ghi:</span> (\d\d:\d\d:\d\d\.\d{3})<", page)
    return [parse_timecode(m) for m in moments]


def link(page: str, element_id: str) -> str | None:
    found = re.search(rf'href="([^"]+)" id="{element_id}"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_pages_newest_first_by_key_with_the_filters_kept(console: Console) -> None:
    auditor = logged_in(console, "auditor")
    url = f"/custody/?action=bookmark_removed&session={console.own_session}"
    first = auditor.get(url).get_data(as_text=True)
    assert shown_offsets(first) == list(range(229, 129, -1))  # the newest 100, newest first
    assert "xóa đánh dấu" in first and ">bookmark_removed<" not in first
    assert '{"offset_ms"' not in first and "Đà Nẵng" not in first
    assert "pages:</span> 1, 2<" in first  # a list as words, not JSON
    assert link(first, "custody-previous") is None  # the newest page
    older = link(first, "custody-next")
    assert older is not None and "action=bookmark_removed" in older
    assert f"session={console.own_session}" in older
    assert "action=bookmark_removed" in (link(first, "custody-csv") or "")
    assert f"session={console.own_session}" in (link(first, "custody-pdf") or "")
    second = auditor.get(older).get_data(as_text=True)
    assert shown_offsets(second) == list(range(129, 29, -1))
    third_url = link(second, "custody-next")
    assert third_url is not None
    third = auditor.get(third_url).get_data(as_text=True)
    assert shown_offsets(third) == list(range(29, -1, -1))
    assert link(third, "custody-next") is None  # nothing older matches
    # Back towards the newest: the page just newer than the third is the second.
    newer_url = link(third, "custody-previous")
    assert newer_url is not None
    assert shown_offsets(auditor.get(newer_url).get_data(as_text=True)) == list(range(129, 29, -1))
    assert '<option value="bookmark_removed" selected>xóa đánh dấu</option>' in first


def test_filters_combine_who_what_and_when(console: Console) -> None:
    auditor = logged_in(console, "auditor")
    supervisor = logged_in(console, "supervisor-danang")
    danang = supervisor.get("/custody/?actor=investigator-danang&action=bookmark_removed")
    assert shown_offsets(danang.get_data(as_text=True)) == list(range(10_039, 9_999, -1))
    # The same filter in hanoi: danang's rows are not hanoi's to see.
    hanoi = auditor.get("/custody/?actor=investigator-danang&action=bookmark_removed")
    assert shown_offsets(hanoi.get_data(as_text=True)) == []
    assert "Không có sự kiện nào." in hanoi.get_data(as_text=True)
    with console.app.test_request_context():
        today = custody_log().entries(newest_first=True, limit=1)[0].at
    day = _local_day(today)
    on_the_day = auditor.get(f"/custody/?action=bookmark_removed&since={day}&until={day}")
    assert len(shown_offsets(on_the_day.get_data(as_text=True))) == 100
    before = auditor.get("/custody/?action=bookmark_removed&until=2020-01-01")
    assert shown_offsets(before.get_data(as_text=True)) == []


def _local_day(stored_utc: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.strptime(stored_utc, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()


def test_days_are_the_consoles_days(console: Console) -> None:
    """Hanoi is UTC+7: its 7 December runs from 17:00 UTC on the 6th to 16:59:59.999999
    UTC on the 7th."""
    with console.app.test_request_context():
        query = Filters(since="2026-12-07", until="2026-12-07").query()
    assert query["since"] == "2026-12-06T17:00:00.000000Z"
    assert query["until"] == "2026-12-07T16:59:59.999999Z"


def test_a_bad_date_is_a_clear_400_and_nothing_is_logged(console: Console) -> None:
    auditor = logged_in(console, "auditor")
    with console.app.app_context():
        before = custody_log().head_seq()
    response = auditor.get("/custody/export.csv?since=07/12/2026")
    assert response.status_code == 400
    assert "Không phải ngày: 07/12/2026" in response.get_data(as_text=True)
    with console.app.app_context():
        assert custody_log().head_seq() == before


def test_the_filtered_rows_as_a_streamed_csv_logged_as_an_export(console: Console) -> None:
    auditor = logged_in(console, "auditor")
    response = auditor.get("/custody/export.csv?action=bookmark_removed")
    assert response.mimetype == "text/csv" and response.is_streamed
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["#", "Thời gian", "Người thực hiện", "Vai trò", "Hành động"]
    assert len(rows) == 1 + REMOVALS  # hanoi's auditor: hanoi-bd's rows, not danang's
    assert rows[1][4] == "xóa đánh dấu" and rows[1][3] == "Kiểm tra viên"
    moment = "thời điểm trong phiên ghi"
    assert f"{moment}: 00:00:00.229" in rows[1][7] and f"{moment}: 00:00:00.000" in rows[-1][7]
    with console.app.app_context():
        exported = custody_log().entries(action="custody_exported")[-1]
    shown = auditor.get("/custody/?action=custody_exported").get_data(as_text=True)
    assert "bộ lọc:</span> hành động: xóa đánh dấu<" in shown  # the filter in words
    assert exported.actor == "auditor"
    assert exported.detail["format"] == "csv"
    assert exported.detail["filters"] == {"action": "bookmark_removed"}
    # The old link still answers, with its filters.
    old = auditor.get("/custody/?action=bookmark_removed&format=csv")
    assert old.status_code == 302 and "export.csv?action=bookmark_removed" in old.location


def test_a_lower_unit_exports_only_what_it_sees(console: Console) -> None:
    lower = logged_in(console, "auditor-bd")
    rows = list(csv.reader(io.StringIO(lower.get("/custody/export.csv").get_data(as_text=True))))
    sessions = {row[5] for row in rows[1:]}
    assert console.own_session in sessions and console.other_session not in sessions
    sideways = logged_in(console, "supervisor-danang").get("/custody/export.pdf")
    assert console.own_session not in pdf_text(sideways.data)[0]


def pdf_text(document: bytes) -> tuple[str, list[tuple[float, float]]]:
    pdf = pdfium.PdfDocument(document)
    text = "\n".join(page.get_textpage().get_text_range() for page in pdf)
    return text, [page.get_size() for page in pdf]


def test_the_filtered_rows_as_a_pdf_with_header_and_page_numbers(console: Console) -> None:
    auditor = logged_in(console, "auditor")
    response = auditor.get(
        f"/custody/export.pdf?action=bookmark_removed&session={console.own_session}"
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text, sizes = pdf_text(response.data)
    assert all(width > height for width, height in sizes)  # landscape
    pages_count = len(sizes)
    assert pages_count > 1
    assert "Nhật ký quản lý chứng cứ" in text and "xóa đánh dấu" in text  # diacritics intact
    assert "Đơn vị hanoi\r\n" in text  # the unit of whoever printed it, by its name
    assert f"Phiên: {console.own_session}" in text and "Hành động: xóa đánh dấu" in text
    assert "Người in" in text and "auditor" in text and "Kiểm tra viên" in text
    assert f"Trang 1 / {pages_count}" in text and f"Trang {pages_count} / {pages_count}" in text
    moment = "thời điểm trong phiên ghi"
    assert f"{moment}: 00:00:00.229" in text and f"{moment}: 00:00:00.000" in text
    assert "Đà Nẵng" not in text
    with console.app.app_context():
        exported = custody_log().entries(action="custody_exported")[-1]
    assert exported.detail["format"] == "pdf" and exported.detail["rows"] == REMOVALS


def test_a_pdf_past_its_limit_asks_to_narrow_the_filter(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PDF_ROWS", 50)
    auditor = logged_in(console, "auditor")
    with console.app.app_context():
        exported = len(custody_log().entries(action="custody_exported"))
    response = auditor.get("/custody/export.pdf?action=bookmark_removed")
    assert response.status_code == 302 and "action=bookmark_removed" in response.location
    page = auditor.get(response.location).get_data(as_text=True)
    assert "Hơn 50 sự kiện khớp" in page
    with console.app.app_context():
        assert len(custody_log().entries(action="custody_exported")) == exported


def test_a_viewer_who_sees_few_rows_pages_through_a_bounded_scan(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan reads at most its budget, then offers to go on from where it stopped."""
    monkeypatch.setattr(pages, "SCAN_BUDGET", 100)
    monkeypatch.setattr(pages, "BATCH_ROWS", 50)
    auditor = logged_in(console, "auditor")
    first = auditor.get("/custody/?actor=auditor&action=bookmark_removed").get_data(as_text=True)
    assert len(shown_offsets(first)) == 100
    sideways = logged_in(console, "supervisor-danang")
    page = sideways.get("/custody/?action=bookmark_removed").get_data(as_text=True)
    # The newest 40 are danang's; hanoi-bd's 230 below them are not theirs to see.
    assert shown_offsets(page) == list(range(10_039, 9_999, -1))
    assert 'id="custody-searched"' in page
    onwards = link(page, "custody-next")
    assert onwards is not None
    later = sideways.get(onwards).get_data(as_text=True)
    assert shown_offsets(later) == [] and 'id="custody-searched"' in later
    # Back towards the newest, through rows they may not see, to their own again.
    back = link(later, "custody-previous")
    assert back is not None
    assert shown_offsets(sideways.get(back).get_data(as_text=True)) == list(
        range(10_039, 9_999, -1)
    )


def test_verify_now_records_its_verdict_and_the_page_shows_it(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    auditor = logged_in(console, "auditor")
    assert "Chưa kiểm tra." in auditor.get("/custody/").get_data(as_text=True)
    token = csrf_token(auditor, "/custody/")
    done = auditor.post("/custody/verify?action=login", data={"csrf_token": token})
    assert done.status_code == 302 and "action=login" in done.location
    page = auditor.get("/custody/").get_data(as_text=True)
    assert "NGUYÊN VẸN" in page and "Kiểm tra lúc" in page
    with sqlite3.connect(console.data.root / "custody.db") as db:
        db.execute("UPDATE custody_events SET actor = 'x' WHERE seq = 2")
    auditor.post("/custody/verify", data={"csrf_token": csrf_token(auditor, "/custody/")})
    page = auditor.get("/custody/").get_data(as_text=True)
    assert "BỊ CAN THIỆP" in page and "custody row 2" in page
    with console.app.app_context():
        verdicts = [e.detail["intact"] for e in custody_log().entries(action="custody_verified")]
    assert verdicts == [True, False]
    assert auditor.post("/custody/verify").status_code == 400  # no CSRF token


@pytest.mark.parametrize("role", ["investigator", "prosecutor", "court-clerk", "admin"])
def test_only_auditors_and_supervisors_read_the_log(console: Console, role: str) -> None:
    client = logged_in(console, role)
    for url in ("/custody/", "/custody/export.csv", "/custody/export.pdf"):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/custody/")  # the logout form of the refusal's page
    assert token
    assert client.post("/custody/verify", data={"csrf_token": token}).status_code == 403
    for reader in ("auditor", "supervisor"):
        assert logged_in(console, reader).get("/custody/export.pdf?actor=nobody").status_code == 200


def test_every_action_the_code_records_has_a_name() -> None:
    """Every literal action written to the custody log, by any package, reads as words."""
    recorded: dict[str, str] = {}
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"tests", "benchmarks", ".venv"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in {"record", "_record"}:
                continue
            first = node.args[0] if node.args else None
            values = [first] + [k.value for k in node.keywords if k.arg == "action"]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    recorded[value.value] = str(path.relative_to(ROOT))
    assert len(recorded) > 40
    # The presenter's commands are recorded under names made from the command.
    recorded |= {custody_action(a): "web/courtroom/present.py" for a in PRESENTER_ACTIONS}
    assert {a: p for a, p in recorded.items() if a not in ACTION_LABELS} == {}
