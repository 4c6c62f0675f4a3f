"""Export requests in the console: ask with a reason, a supervisor approves, the package is
built and verified, only the requester downloads it, and every step is in the custody log."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from evidence_store.clips import clip_proof
from tests.console_fixtures import Console, build_console, csrf_token, login, record_session
from tests.test_export_package import standalone_python
from web.audit import custody_log
from web.extensions import db
from web.models import Clip, ExportRequest, User

REASON = "Luật sư bào chữa đề nghị cung cấp bản ghi"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return build_console(tmp_path_factory.mktemp("console"))


def client_for(console: Console, username: str) -> FlaskClient:
    client = console.app.test_client()
    login(client, username)
    return client


def ask(client: FlaskClient, **fields: object) -> tuple[int, str]:
    token = csrf_token(client, "/exports/")
    response = client.post("/exports/", data={"csrf_token": token, **fields})
    return response.status_code, response.get_data(as_text=True)


def decide(client: FlaskClient, request_id: int, decision: str) -> int:
    token = csrf_token(client, "/exports/")
    return client.post(f"/exports/{request_id}/{decision}", data={"csrf_token": token}).status_code


def latest_request(console: Console) -> ExportRequest:
    with console.app.app_context():
        row = db.session.query(ExportRequest).order_by(ExportRequest.id.desc()).first()
        assert row is not None
        db.session.expunge(row)
        return row


def actions(console: Console, session_id: str) -> list[str]:
    with console.app.app_context():
        return [e.action for e in custody_log().entries(session_id=session_id)]


def last_event(console: Console, session_id: str, action: str) -> dict[str, object]:
    with console.app.app_context():
        entries = custody_log().entries(session_id=session_id, action=action)
    assert entries, action
    return entries[-1].detail


def run_verify_on(zip_bytes: bytes, target: Path) -> subprocess.CompletedProcess[str]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        archive.extractall(target)
    package = next(p for p in target.iterdir() if p.is_dir())
    return subprocess.run(
        [standalone_python(), "-I", "verify.py"],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_request_needs_a_reason_and_changes_nothing_without_one(console: Console) -> None:
    prosecutor = client_for(console, "prosecutor")
    with console.app.app_context():
        before = db.session.query(ExportRequest).count()
    status, page = ask(prosecutor, session_id=console.own_session, reason="")
    assert status == 400
    assert 'class="flash error"' in page
    with console.app.app_context():
        assert db.session.query(ExportRequest).count() == before


def test_a_request_without_the_csrf_token_is_refused(console: Console) -> None:
    prosecutor = client_for(console, "prosecutor")
    response = prosecutor.post("/exports/", data={"session_id": console.own_session, "reason": "x"})
    assert response.status_code == 400


def test_a_session_of_another_unit_cannot_be_requested(console: Console) -> None:
    prosecutor = client_for(console, "prosecutor")
    status, _ = ask(prosecutor, session_id=console.other_session, reason=REASON)
    assert status == 404
    assert "export_requested" not in actions(console, console.other_session)


def test_request_approve_build_and_download(console: Console, tmp_path: Path) -> None:
    prosecutor = client_for(console, "prosecutor")
    status, _ = ask(prosecutor, session_id=console.own_session, reason=REASON)
    assert status == 302
    request = latest_request(console)
    assert request.status == "pending" and request.reason == REASON
    assert request.unit_code == "hanoi-bd"
    # Nothing to download before a supervisor approves.
    assert prosecutor.get(f"/exports/{request.id}/download").status_code == 409

    supervisor = client_for(console, "supervisor")
    listing = supervisor.get("/exports/").get_data(as_text=True)
    assert f'id="request-{request.id}"' in listing and REASON in listing
    assert decide(supervisor, request.id, "approve") == 302
    built = latest_request(console)
    assert built.status == "built"
    package = console.data.root / "exports" / built.package
    assert package.is_file()
    assert hashlib.sha256(package.read_bytes()).hexdigest() == built.package_sha256
    exported = last_event(console, console.own_session, "export")
    assert exported["archive_sha256"] == built.package_sha256
    assert exported["request_id"] == built.id

    download = prosecutor.get(f"/exports/{built.id}/download")
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    assert hashlib.sha256(download.data).hexdigest() == built.package_sha256
    assert last_event(console, console.own_session, "export_download")["request_id"] == built.id
    checked = run_verify_on(download.data, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "RESULT: INTACT" in checked.stdout

    history = actions(console, console.own_session)
    for action in ("export_requested", "export_approved", "export", "export_download"):
        assert action in history
    assert history.index("export_requested") < history.index("export_approved")


def test_only_the_requester_downloads(console: Console) -> None:
    prosecutor = client_for(console, "prosecutor")
    ask(prosecutor, session_id=console.own_session, reason=REASON)
    request = latest_request(console)
    decide(client_for(console, "supervisor"), request.id, "approve")
    clerk = client_for(console, "court-clerk")
    assert clerk.get(f"/exports/{request.id}/download").status_code == 404
    listing = clerk.get("/exports/").get_data(as_text=True)
    assert f"/exports/{request.id}/download" not in listing


def test_a_refused_request_builds_nothing_and_cannot_be_approved_after(console: Console) -> None:
    clerk = client_for(console, "court-clerk")
    ask(clerk, session_id=console.own_session, reason="Phiên toà ngày 12/12")
    request = latest_request(console)
    supervisor = client_for(console, "supervisor")
    assert decide(supervisor, request.id, "refuse") == 302
    refused = latest_request(console)
    assert refused.status == "refused" and refused.package == ""
    assert decide(supervisor, request.id, "approve") == 409
    assert clerk.get(f"/exports/{request.id}/download").status_code == 409


def test_a_clip_export_holds_only_the_clips_segments(console: Console, tmp_path: Path) -> None:
    with console.app.app_context():
        data = console.data
        proof = clip_proof(data.store(), console.own_session, data.trust(), 0, 500_000)
        user = db.session.query(User).filter_by(username="prosecutor").one()
        clip = Clip(
            session_id=console.own_session,
            unit_code="hanoi-bd",
            title="Đoạn bị can nhận tội",
            exhibit_number="VC-01",
            start_ms=0,
            end_ms=500,
            proof=proof.to_json(),
            created_by=user.id,
        )
        db.session.add(clip)
        db.session.commit()
        clip_id = clip.id
    prosecutor = client_for(console, "prosecutor")
    status, _ = ask(prosecutor, clip_id=clip_id, reason=REASON)
    assert status == 302
    request = latest_request(console)
    assert request.clip_id == clip_id
    decide(client_for(console, "supervisor"), request.id, "approve")
    download = prosecutor.get(f"/exports/{request.id}/download")
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        names = archive.namelist()
    assert any(n.endswith("/clip.json") for n in names)
    checked = run_verify_on(download.data, tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert "Clip:" in checked.stdout
    assert last_event(console, console.own_session, "export")["kind"] == "clip"


def test_tampered_evidence_is_not_exported(console: Console) -> None:
    tampered = record_session(console.data, "hanoi-bd", "VKS-9/2026", b"\x00" * 4096)
    segment = console.data.evidence / "sessions" / tampered / "segments" / "000000.mp4"
    segment.chmod(0o644)
    segment.write_bytes(b"\x01" * 4096)
    prosecutor = client_for(console, "prosecutor")
    ask(prosecutor, session_id=tampered, reason=REASON)
    request = latest_request(console)
    supervisor = client_for(console, "supervisor")
    assert decide(supervisor, request.id, "approve") == 302
    failed = latest_request(console)
    assert failed.status == "failed" and failed.package == ""
    assert last_event(console, tampered, "export")["result"] == "tampered"
    listing = supervisor.get("/exports/").get_data(as_text=True)
    assert re.search(rf'id="request-{request.id}" class="export-failed"', listing)
    assert not list((console.data.root / "exports").glob(f"{request.id:06d}-*"))


def test_without_approval_the_package_is_built_at_once(tmp_path: Path) -> None:
    console = build_console(tmp_path / "console")
    settings = console.app.config["SEALROOM_SETTINGS"]
    console.app.config["SEALROOM_SETTINGS"] = settings.model_copy(
        update={"exports_need_approval": False}
    )
    clerk = client_for(console, "court-clerk")
    status, _ = ask(clerk, session_id=console.own_session, reason=REASON)
    assert status == 302
    request = latest_request(console)
    assert request.status == "built" and request.decided_by is None
    assert clerk.get(f"/exports/{request.id}/download").status_code == 200


def test_the_auditor_sees_the_list_but_cannot_request_or_download(console: Console) -> None:
    auditor = client_for(console, "auditor")
    page = auditor.get("/exports/")
    assert page.status_code == 200
    assert 'id="export-form"' not in page.get_data(as_text=True)
    assert auditor.get("/exports/1/download").status_code == 403
