""" "Verify now" with its progress: the page's script asks for newline-delimited JSON and gets
the bytes hashed as they rise to the session's total, then the verdict, its reason and the
rendered "last verification" line; the verification is a custody event, and a failure an
alarm, as before. A script asking for JSON, and a plain form, get what they always got."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from evidence_store.installation.data_dir import DataDir
from tests.support.clips import record_long_session
from tests.support.console import build_console, csrf_token, login
from web.audit import custody_log

SEGMENTS = 12
# Sizes that differ, one beyond the store's 1 MiB read: progress is counted in bytes.
SIZES = [150_000 + 40_000 * n for n in range(SEGMENTS - 1)] + [(1 << 20) + 123_457]
TAMPERED = 7
REASON_VI = "nội dung đoạn video không khớp SHA-256 đã niêm phong (đã bị sửa hoặc thay thế)"


@dataclass(frozen=True)
class Recorded:
    app: Flask
    data: DataDir
    session_id: str


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    console = build_console(tmp_path_factory.mktemp("verify-progress"))
    session_id = record_long_session(console.data, "hanoi-bd", [os.urandom(n) for n in SIZES])
    yield Recorded(console.app, console.data, session_id)


def _client(recorded: Recorded, username: str) -> FlaskClient:
    client = recorded.app.test_client()
    login(client, username)
    return client


def _stream(client: FlaskClient, session_id: str) -> list[dict[str, Any]]:
    url = f"/sessions/{session_id}"
    response = client.post(
        f"{url}/verify",
        data={"csrf_token": csrf_token(client, url)},
        headers={"Accept": "application/x-ndjson"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["X-Accel-Buffering"] == "no"  # nginx passes each line on
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


def _progress(lines: list[dict[str, Any]]) -> list[tuple[int, int]]:
    counts = [(line["done"], line["total"]) for line in lines[:-1]]
    assert all(set(line) == {"done", "total"} for line in lines[:-1])
    return counts


def _verifications(recorded: Recorded) -> list[Any]:
    with recorded.app.test_request_context():
        return custody_log().entries(session_id=recorded.session_id, action="verify")


def test_progress_rises_to_the_total_then_the_verdict(recorded: Recorded) -> None:
    lines = _stream(_client(recorded, "auditor"), recorded.session_id)
    counts = _progress(lines)
    total = sum(SIZES)
    assert counts[0] == (0, total)
    assert all(t == total for _, t in counts)
    done = [d for d, _ in counts]
    assert done == sorted(done) and done[-1] == total
    # Steps in between, however fast the machine: a line at each new whole percent.
    assert len({d for d in done if 0 < d < total}) >= SEGMENTS // 2
    answer = lines[-1]
    assert answer["intact"] is True and answer["label"] == "NGUYÊN VẸN"
    assert answer["text"].startswith(f"{SEGMENTS} đoạn")
    assert 'id="last-verification"' in answer["last_verification"]
    assert "NGUYÊN VẸN" in answer["last_verification"] and "auditor" in answer["last_verification"]
    assert answer["at"] in answer["last_verification"]
    verified = _verifications(recorded)[-1]
    assert verified.actor == "auditor" and verified.detail["intact"] is True


def test_a_tampered_session_streams_to_its_verdict_and_reason(recorded: Recorded) -> None:
    store = recorded.data.store()
    segment = store.path(f"sessions/{recorded.session_id}/segments/{TAMPERED:06d}.mp4")
    original = segment.read_bytes()
    altered = bytearray(original)
    altered[len(altered) // 2] ^= 0x01
    segment.chmod(0o644)
    segment.write_bytes(bytes(altered))
    try:
        lines = _stream(_client(recorded, "prosecutor"), recorded.session_id)
    finally:
        segment.write_bytes(original)
    done = [d for d, _ in _progress(lines)]
    assert done == sorted(done) and done[-1] == sum(SIZES)  # every segment hashed
    answer = lines[-1]
    assert answer["intact"] is False
    assert answer["label"] == "BỊ CAN THIỆP" and answer["shown_state"] == "bị can thiệp"
    where = f"segments/{TAMPERED:06d}.mp4"
    assert answer["text"].startswith(f"{where}: ")
    # The reason in Vietnamese, as the page shows it.
    assert answer["text"] == f"{where}: " + REASON_VI
    assert "BỊ CAN THIỆP" in answer["last_verification"] and where in answer["last_verification"]
    verified = _verifications(recorded)[-1]
    assert verified.actor == "prosecutor" and verified.detail["intact"] is False
    with recorded.app.test_request_context():
        alarms = custody_log().entries(session_id=recorded.session_id, action="alarm")
    assert alarms, "a failure found by verify now is an alarm"


def test_a_script_asking_for_json_gets_the_answer_alone(recorded: Recorded) -> None:
    client = _client(recorded, "auditor")
    url = f"/sessions/{recorded.session_id}"
    response = client.post(
        f"{url}/verify",
        data={"csrf_token": csrf_token(client, url)},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200 and response.is_json
    answer = response.get_json()
    assert answer["intact"] is True and answer["label"] == "NGUYÊN VẸN"
    # No token, no verification; nobody outside the unit learns the session exists.
    unsigned = client.post(f"{url}/verify", headers={"Accept": "application/x-ndjson"})
    assert unsigned.status_code == 400
    outsider = _client(recorded, "investigator-danang")
    token = csrf_token(outsider, "/sessions/")
    refused = outsider.post(
        f"{url}/verify", data={"csrf_token": token}, headers={"Accept": "application/x-ndjson"}
    )
    assert refused.status_code == 404


def test_the_last_verification_line_as_it_stands(recorded: Recorded) -> None:
    client = _client(recorded, "prosecutor")
    answer = client.get(f"/sessions/{recorded.session_id}/last-verification").get_json()
    newest = _verifications(recorded)[-1]
    assert 'id="last-verification"' in answer["last_verification"]
    assert newest.actor in answer["last_verification"]
    outsider = _client(recorded, "investigator-danang")
    assert outsider.get(f"/sessions/{recorded.session_id}/last-verification").status_code == 404
