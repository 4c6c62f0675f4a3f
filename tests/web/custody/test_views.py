"""The custody log as people read it: pages of 100 newest first, actions by name (a menu to
filter by), details as lines rather than JSON, and the same filtered events as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient

from tests.support.console import Console, build_console, login
from web.audit import record


def logged_in(console: Console, username: str) -> FlaskClient:
    """A client in the console's own language, Vietnamese."""
    client = console.app.test_client()
    login(client, username)
    return client


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("custody-views"))
    with built.app.test_request_context():
        for n in range(230):
            record(
                "bookmark_removed",
                session_id=built.own_session,
                detail={"offset_ms": n, "pages": [1, 2]},
                actor="auditor",
                role="auditor",
            )
    return built


def test_pages_newest_first_with_readable_details(console: Console) -> None:
    auditor = logged_in(console, "auditor")
    first = auditor.get("/custody/?action=bookmark_removed").get_data(as_text=True)
    assert "100 trên 230 sự kiện" in first
    assert "Trang 1 / 3" in first and 'id="custody-next"' in first
    assert "xóa đánh dấu" in first and ">bookmark_removed<" not in first
    assert "thời điểm (ms):</span> 229" in first  # the newest first, as a line
    assert '{"offset_ms"' not in first
    last = auditor.get("/custody/?action=bookmark_removed&page=3").get_data(as_text=True)
    assert "Trang 3 / 3" in last and "thời điểm (ms):</span> 0<" in last
    assert "thời điểm (ms):</span> 229" not in last
    # A page past the end shows the last one; the action is chosen from a menu of names.
    assert "Trang 3 / 3" in auditor.get("/custody/?page=99&action=bookmark_removed").get_data(
        as_text=True
    )
    assert '<option value="bookmark_removed" selected>xóa đánh dấu</option>' in first


def test_the_filtered_events_as_csv(console: Console) -> None:
    auditor = logged_in(console, "auditor")
    response = auditor.get("/custody/?action=bookmark_removed&format=csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["#", "Thời gian", "Người thực hiện", "Vai trò", "Hành động"]
    assert len(rows) == 1 + 230
    assert rows[1][4] == "xóa đánh dấu" and rows[1][3] == "Kiểm tra viên"
    assert "thời điểm (ms): 229" in rows[1][7]
    assert logged_in(console, "investigator").get("/custody/?format=csv").status_code == 403
