"""The data layer on PostgreSQL: the console's migrations and models, the session index and
the custody log with concurrent appenders, all in one database of a real server."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from evidence_store.installation.data_dir import DataDir
from evidence_store.settings import EvidenceSettings
from tests.support.console import PASSWORD, csrf_token, login, record_session
from web.app import create_app
from web.auth.accounts import create_unit, create_user
from web.custody import pages as custody_pages
from web.settings import ConsoleSettings

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_database(postgres_url: str) -> Iterator[str]:
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    yield postgres_url


def test_console_and_custody_on_postgresql(
    tmp_path: Path, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = EvidenceSettings(
        custody_database_url=fresh_database, session_index_url=fresh_database
    )
    data = DataDir.resolve(tmp_path, settings)
    app = create_app(data, ConsoleSettings(database_url=fresh_database, secure_cookies=False))
    create_app(data, ConsoleSettings(database_url=fresh_database))  # migrations are idempotent
    with app.app_context():
        create_unit("hanoi", parent="supreme")
        create_user("kiemsat", role="prosecutor", unit="hanoi", password=PASSWORD)
        create_user("kiemtra", role="auditor", unit="supreme", password=PASSWORD)
    session_id = record_session(data, "hanoi", "VKS-PG/2026", b"\0" * 1024)
    client = app.test_client()
    client.post(
        "/login",
        data={"username": "kiemsat", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert "VKS-PG/2026" in client.get("/sessions/?case=PG").get_data(as_text=True)
    engine = sqlalchemy.create_engine(fresh_database)
    with engine.connect() as connection:
        indexed = connection.exec_driver_sql("SELECT case_number FROM session_index").scalars()
        assert list(indexed) == ["VKS-PG/2026"]
    engine.dispose()
    url = f"/sessions/{session_id}"
    assert (
        client.post(
            f"{url}/bookmarks",
            data={"offset_ms": "250", "note": "ghi chú", "csrf_token": csrf_token(client, url)},
        ).status_code
        == 302
    )
    assert "ghi chú" in client.get(url).get_data(as_text=True)

    log = data.custody(data.store(), data.signer())

    def append(n: int) -> None:
        for i in range(20):
            log.record(actor=f"worker-{n}", role="auditor", action="verify", detail={"i": i})

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = log.verify()
    assert report.rows >= 80 + 4  # the appenders' rows and the console's own events
    assert report.last_checkpoint_seq == report.rows

    # The custody page reads its pages by key and its exports in batches on PostgreSQL too.
    monkeypatch.setattr(custody_pages, "PAGE_ROWS", 30)
    auditor = app.test_client()
    login(auditor, "kiemtra")
    url: str | None = "/custody/?action=verify&since=2020-01-01"
    shown = []
    while url:
        page = auditor.get(url).get_data(as_text=True)
        table = page.split('id="custody"', 1)[1]
        shown.append(table.count("<tr><td>"))
        found = re.search(r'href="([^"]+)" id="custody-next"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert shown == [30, 30, 20]
    exported = auditor.get("/custody/export.csv?action=verify").get_data(as_text=True)
    assert len(exported.strip().splitlines()) == 1 + 80
    older = auditor.get("/custody/export.csv?action=verify&until=2020-01-01").get_data(as_text=True)
    assert len(older.strip().splitlines()) == 1
    assert auditor.get("/custody/export.pdf?actor=worker-1").mimetype == "application/pdf"
