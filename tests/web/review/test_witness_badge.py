"""With a witness configured, the console marks a session "not yet witnessed" (Vietnamese by
default) until the witness's receipt for its seal is stored with it: the session's page looks
at once, the list once the catalog knows (an event from the room, or the worker's reconcile)."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from evidence_store import layout
from tests.support.console import build_console, catalogue, login


def row_of(response: TestResponse, session_id: str) -> str:
    """The list's table row of one session."""
    rows = response.get_data(as_text=True).split("<tr>")
    [row] = [r for r in rows if f"/sessions/{session_id}" in r]
    return row


def test_a_session_is_not_yet_witnessed_until_its_seal_receipt_is_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEALROOM_WITNESS_URL", "http://127.0.0.1:9")  # never contacted here
    console = build_console(tmp_path / "console")
    client = console.app.test_client()
    login(client, "prosecutor")
    assert "chưa được chứng thực" in row_of(client.get("/sessions/"), console.own_session)
    page = client.get(f"/sessions/{console.own_session}").get_data(as_text=True)
    assert "chưa được chứng thực" in page
    # The witness's receipt for the seal arrives (the console does not check it: verify does).
    receipt = console.data.store().path(
        layout.session_prefix(console.own_session) + layout.SEAL_RECEIPT
    )
    receipt.parent.mkdir()
    receipt.write_bytes(b"{}")
    page = client.get(f"/sessions/{console.own_session}").get_data(as_text=True)
    assert "chưa được chứng thực" not in page
    assert "chưa được chứng thực" in row_of(client.get("/sessions/"), console.own_session)
    catalogue(console.app, witnessing=True)  # the worker's reconcile: one look per session
    assert "chưa được chứng thực" not in row_of(client.get("/sessions/"), console.own_session)


def test_without_a_witness_there_is_no_badge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEALROOM_WITNESS_URL", raising=False)
    console = build_console(tmp_path / "console")
    client = console.app.test_client()
    login(client, "prosecutor")
    assert "chưa được chứng thực" not in client.get("/sessions/").get_data(as_text=True)
