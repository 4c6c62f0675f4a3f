"""Export requests in the console: ask with a reason, a supervisor approves (once, even when two
try at once), the package is built in the background with its progress shown, verified, built
again after a failure, only the requester downloads it and only as it was built, and every step
is in the custody log."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from evidence_store.clips import clip_proof
from evidence_store.custody import CustodyEntry
from evidence_store.export.package import ExportSpec, build_package, export_bytes
from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.store import CHUNK
from tests.support.browser import log_in, shot, wait_js
from tests.support.cli import run_sealroom
from tests.support.console import (
    MEDIA,
    PASSWORD,
    Console,
    build_console,
    catalog_reporter,
    csrf_token,
    login,
    record_session,
)
from tests.support.evidence import flip_byte
from tests.support.exports import standalone_python
from web.audit import custody_log
from web.auth.accounts import create_user
from web.evidence import evidence_store
from web.exports import jobs as export_jobs
from web.exports.build import job_key, package_name, spec_of
from web.exports.download import PackageChanged, SendOutcome, checked_chunks, digest_of
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


def run_verify_on(zip_bytes: bytes, target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        archive.extractall(target)
    package = next(p for p in target.iterdir() if p.is_dir())
    return subprocess.run(
        [standalone_python(), "-I", "verify.py", *args],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settle(console: Console, request_id: int, timeout: float = 120.0) -> ExportRequest:
    """The request once its build (if any) has ended: status final and the worker gone."""
    deadline = time.monotonic() + timeout
    while True:
        with console.app.app_context():
            row = db.session.get(ExportRequest, request_id)
            assert row is not None
            with export_jobs.claims_held() as alive:
                running = job_key(request_id) in alive
            if row.status != "building" and not running:
                db.session.expunge(row)
                return row
        assert time.monotonic() < deadline, f"export {request_id} is still building"
        time.sleep(0.02)


def export_events(console: Console, session_id: str, request_id: int) -> list[dict[str, object]]:
    with console.app.app_context():
        entries = custody_log().entries(session_id=session_id, action="export")
    return [e.detail for e in entries if e.detail.get("request_id") == request_id]


def events_of(console: Console, action: str, request_id: int) -> list[CustodyEntry]:
    with console.app.app_context():
        entries = custody_log().entries(action=action)
    return [e for e in entries if e.detail.get("request_id") == request_id]


def approved(console: Console, session_id: str | None = None, **fields: object) -> int:
    """A prosecutor's request, approved by the supervisor; its id (the build may still run)."""
    prosecutor = client_for(console, "prosecutor")
    status, _ = ask(prosecutor, session_id=session_id or console.own_session, reason=REASON)
    assert status == 302
    request = latest_request(console)
    assert decide(client_for(console, "supervisor"), request.id, "approve") == 302
    return request.id


def leftovers(console: Console, request_id: int) -> list[Path]:
    exports = console.data.root / "exports"
    return sorted(exports.glob(f"{request_id:06d}-*")) + sorted(
        exports.glob(f".{request_id:06d}-*")
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
    built = settle(console, request.id)
    assert built.status == "built"
    package = console.data.root / "exports" / built.package
    assert package.is_file()
    assert hashlib.sha256(package.read_bytes()).hexdigest() == built.package_sha256
    exported = last_event(console, console.own_session, "export")
    assert exported["archive_sha256"] == built.package_sha256
    assert exported["request_id"] == built.id and exported["outcome"] == "built"

    download = prosecutor.get(f"/exports/{built.id}/download")
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    sent = hashlib.sha256(download.data).hexdigest()
    assert sent == built.package_sha256
    logged = last_event(console, console.own_session, "export_download")
    assert logged["request_id"] == built.id and logged["sent_sha256"] == sent
    checked = run_verify_on(download.data, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "RESULT: INTACT" in checked.stdout

    history = actions(console, console.own_session)
    for action in ("export_requested", "export_approved", "export", "export_download"):
        assert action in history
    assert history.index("export_requested") < history.index("export_approved")


def test_two_supervisors_approving_at_once_only_one_wins(console: Console) -> None:
    with console.app.app_context():
        create_user("supervisor-2", role="supervisor", unit="hanoi", password=PASSWORD)
    prosecutor = client_for(console, "prosecutor")
    ask(prosecutor, session_id=console.own_session, reason=REASON)
    request = latest_request(console)
    supervisors = [client_for(console, "supervisor"), client_for(console, "supervisor-2")]
    tokens = [csrf_token(client, "/exports/") for client in supervisors]
    together = threading.Barrier(len(supervisors))

    def approve(which: int) -> int:
        together.wait()
        url = f"/exports/{request.id}/approve"
        return supervisors[which].post(url, data={"csrf_token": tokens[which]}).status_code

    with ThreadPoolExecutor(len(supervisors)) as pool:
        codes = sorted(pool.map(approve, range(len(supervisors))))
    assert codes == [302, 409]
    built = settle(console, request.id)
    assert built.status == "built"
    approvals = events_of(console, "export_approved", request.id)
    assert len(approvals) == 1
    with console.app.app_context():
        winner = db.session.get(User, built.decided_by)
        assert winner is not None and winner.username == approvals[0].actor
    assert len(export_events(console, console.own_session, request.id)) == 1  # one build


def test_a_failed_build_is_logged_leaves_nothing_and_can_be_built_again(console: Console) -> None:
    exports = console.data.root / "exports"
    exports.mkdir(exist_ok=True)
    aside = exports.rename(console.data.root / "exports-aside")
    exports.write_bytes(b"")  # where the packages go is not a directory: a real OSError
    try:
        request_id = approved(console)
        failed = settle(console, request_id)
    finally:
        exports.unlink()
        aside.rename(exports)
    assert failed.status == "failed" and failed.package == ""
    event = export_events(console, console.own_session, request_id)[-1]
    assert event["outcome"] == "failed" and event["result"] == "error"
    assert event["error"] == "FileExistsError" and event["reason"]
    assert leftovers(console, request_id) == []

    prosecutor = client_for(console, "prosecutor")
    listing = prosecutor.get("/exports/").get_data(as_text=True)
    assert re.search(rf'id="request-{request_id}" class="export-failed"', listing)
    assert f"/exports/{request_id}/retry" in listing
    # Only the requester or a supervisor builds it again.
    clerk = client_for(console, "court-clerk")
    assert decide(clerk, request_id, "retry") == 404
    assert settle(console, request_id).status == "failed"

    assert decide(prosecutor, request_id, "retry") == 302
    rebuilt = settle(console, request_id)
    assert rebuilt.status == "built" and rebuilt.package
    assert [e["outcome"] for e in export_events(console, console.own_session, request_id)] == [
        "failed",
        "built",
    ]
    assert len(events_of(console, "export_retried", request_id)) == 1
    assert decide(prosecutor, request_id, "retry") == 409  # built: nothing to retry
    assert prosecutor.get(f"/exports/{request_id}/download").status_code == 200


def test_a_clip_whose_segment_is_gone_fails_and_builds_once_it_is_back(console: Console) -> None:
    session_id = record_session(console.data, "hanoi-bd", "VKS-8/2026", b"\x00" * 4096)
    clip_id = add_clip(console, session_id)
    segment = console.data.evidence / "sessions" / session_id / "segments" / "000000.mp4"
    aside = segment.rename(segment.with_name("aside"))
    prosecutor = client_for(console, "prosecutor")
    ask(prosecutor, clip_id=clip_id, reason=REASON)
    request = latest_request(console)
    supervisor = client_for(console, "supervisor")
    assert decide(supervisor, request.id, "approve") == 302
    failed = settle(console, request.id)
    assert failed.status == "failed"
    event = export_events(console, session_id, request.id)[-1]
    assert event["outcome"] == "failed" and "000000.mp4" in str(event["reason"])
    assert leftovers(console, request.id) == []

    aside.rename(segment)
    assert decide(supervisor, request.id, "retry") == 302
    assert settle(console, request.id).status == "built"
    assert export_events(console, session_id, request.id)[-1]["kind"] == "clip"


def test_a_build_left_by_a_stopped_console_is_failed_and_can_be_built_again(
    console: Console,
) -> None:
    prosecutor = client_for(console, "prosecutor")
    ask(prosecutor, session_id=console.own_session, reason=REASON)
    request = latest_request(console)
    # What a console killed mid-build leaves: the row "building", a half-written staging dir.
    with console.app.app_context():
        row = db.session.get(ExportRequest, request.id)
        assert row is not None
        row.status = "building"
        db.session.commit()
    with console.app.app_context():
        name = package_name(request, spec_of(request))
    # One scheme, case_exhibit_day_request, in one language (a whole session is "phiên ghi").
    assert re.fullmatch(rf"VKS-1-2026_phien-ghi_\d{{4}}-\d\d-\d\d_{request.id}\.zip", name), name
    staging = console.data.root / "exports" / f".{name}.x.partial"
    (staging / "sessions").mkdir(parents=True)
    (staging / "sessions" / "half").write_bytes(b"\x00" * 100)

    listing = prosecutor.get("/exports/").get_data(as_text=True)
    assert re.search(rf'id="request-{request.id}" class="export-failed"', listing)
    interrupted = events_of(console, "export", request.id)
    assert [(e.actor, e.detail["result"]) for e in interrupted] == [("console", "interrupted")]

    assert decide(prosecutor, request.id, "retry") == 302
    assert settle(console, request.id).status == "built"
    assert not staging.exists()


def test_progress_grows_until_the_package_is_built(console: Console) -> None:
    segments = 8
    session_id = record_long_session(console, segments, 4 << 20)
    supervisor = client_for(console, "supervisor")  # logged in first: a login takes a while
    request_id = approved(console, session_id)
    samples = []
    while True:
        response = supervisor.get(f"/exports/{request_id}/progress")
        assert response.status_code == 200 and response.is_json
        samples.append(response.get_json())
        if samples[-1]["status"] != "building":
            break
        time.sleep(0.002)
    final = samples[-1]
    assert final["status"] == final["stage"] == "built"
    assert final["done"] == final["total"] == segments * (4 << 20)
    # A fast build may be over by the first poll; what was seen must still be in order.
    order = ["queued", "copying", "checking", "done", "built"]
    ranks = [(order.index(s["stage"]), s["done"]) for s in samples if s["stage"]]
    assert ranks == sorted(ranks), samples
    assert {s["total"] for s in samples if s["stage"] not in ("queued", None)} == {final["total"]}

    # Another unit's supervisor does not learn of it.
    with console.app.app_context():
        create_user("supervisor-danang", role="supervisor", unit="danang", password=PASSWORD)
    outsider = client_for(console, "supervisor-danang")
    before = len(events_of(console, "access_denied", request_id))
    assert outsider.get(f"/exports/{request_id}/progress").status_code == 404
    assert len(events_of(console, "access_denied", request_id)) == before + 1


def test_a_build_reports_each_copied_object_then_the_checks(
    console: Console, tmp_path: Path
) -> None:
    """What the endpoint reads, step by step: a real build's callbacks through the sink."""
    segments = 8
    session_id = record_long_session(console, segments, 1 << 20)
    key = ("sink-test", 1)
    sink = export_jobs.ProgressSink(key)
    seen: list[export_jobs.BuildProgress] = []

    def copied(count: int) -> None:
        sink.copied(count)
        progress = export_jobs.progress_of(key)
        assert progress is not None
        seen.append(progress)

    with console.app.app_context():
        reader = evidence_store()
        spec = ExportSpec(session_id=session_id)
        sink.stage("copying", total=export_bytes(reader, spec))
        build_package(
            reader,
            spec,
            console.data.trust(),
            tmp_path / "p.zip",
            custody=[],
            exported_by="test",
            as_zip=True,
            progress=copied,
            signer=console.data.signer(),
        )
    sink.stage("done")
    assert all(p.total == segments << 20 for p in seen)
    dones = [p.done for p in seen]
    assert dones == sorted(dones) and dones[0] > 0 and dones[-1] == segments << 20
    assert len({d for d in dones if d < segments << 20}) >= segments - 1  # grows in steps
    assert {p.stage for p in seen if p.done < p.total} == {"copying"}
    assert seen[-1].stage == "checking"  # all copied: verifying and zipping remain
    assert export_jobs.progress_of(key) == export_jobs.BuildProgress(
        "done", *(2 * [segments << 20])
    )


def test_a_replaced_package_is_refused_and_logged(console: Console) -> None:
    built = settle(console, approved(console))
    assert built.status == "built"
    package = console.data.root / "exports" / built.package
    forged = b"PK\x05\x06" + b"\0" * 18
    package.chmod(0o644)
    package.write_bytes(forged)
    downloads = len(events_of(console, "export_download", built.id))
    response = client_for(console, "prosecutor").get(f"/exports/{built.id}/download")
    assert response.status_code == 409
    assert forged not in response.data and response.mimetype == "text/html"
    refused = events_of(console, "export_download_refused", built.id)[-1].detail
    assert refused["expected_sha256"] == built.package_sha256
    assert refused["actual_sha256"] == hashlib.sha256(forged).hexdigest()
    assert len(events_of(console, "export_download", built.id)) == downloads


@dataclass
class Heard:
    """What a stream told its SendOutcome, in order."""

    told: list[tuple[str, object]] = field(default_factory=list)

    def outcome(self) -> SendOutcome:
        return SendOutcome(
            sent=lambda count: self.told.append(("sent", count)),
            changed=lambda actual: self.told.append(("changed", actual)),
            cut_off=lambda count: self.told.append(("cut_off", count)),
        )


def test_a_package_edited_while_it_is_sent_never_arrives_whole(tmp_path: Path) -> None:
    package = tmp_path / "p.zip"
    package.write_bytes(b"a" * (CHUNK * 2 + 10))
    handle = package.open("rb")
    expected = digest_of(handle)
    with package.open("r+b") as editor:  # in place, after the check: same inode
        editor.seek(CHUNK * 2)
        editor.write(b"b")
    heard = Heard()
    received = b""
    with pytest.raises(PackageChanged):
        for chunk in checked_chunks(handle, expected, heard.outcome()):
            received += chunk
    assert len(received) == CHUNK * 2  # the last chunk was held back
    # Refused, and not also recorded as sent or as cut off.
    assert heard.told == [("changed", hashlib.sha256(package.read_bytes()).hexdigest())]
    assert handle.closed


def test_a_stream_is_told_sent_only_after_its_last_chunk_was_taken(tmp_path: Path) -> None:
    package = tmp_path / "p.zip"
    package.write_bytes(b"a" * (CHUNK + 10))
    handle = package.open("rb")
    heard = Heard()
    stream = checked_chunks(handle, digest_of(handle), heard.outcome())
    assert len(next(stream)) + len(next(stream)) == CHUNK + 10
    assert heard.told == []  # the last chunk is out, but not yet written by the server
    assert next(stream, None) is None
    assert heard.told == [("sent", CHUNK + 10)]
    assert handle.closed


def test_a_stream_closed_part_way_is_told_cut_off(tmp_path: Path) -> None:
    package = tmp_path / "p.zip"
    package.write_bytes(b"a" * (CHUNK * 2 + 10))
    handle = package.open("rb")
    heard = Heard()
    stream = checked_chunks(handle, digest_of(handle), heard.outcome())
    next(stream)
    next(stream)  # the server wrote the first chunk and took the second
    stream.close()  # the receiver went away
    assert heard.told == [("cut_off", CHUNK)]
    assert handle.closed


def test_a_download_is_recorded_once_it_was_sent_whole_not_before(console: Console) -> None:
    built = settle(console, approved(console))
    assert built.status == "built"
    prosecutor = client_for(console, "prosecutor")
    url = f"/exports/{built.id}/download"

    cut = prosecutor.get(url, buffered=False)
    assert cut.status_code == 200
    next(iter(cut.response))  # some of it, then the receiver goes away
    cut.close()
    assert events_of(console, "export_download", built.id) == []
    incomplete = events_of(console, "export_download_incomplete", built.id)
    assert len(incomplete) == 1
    assert incomplete[0].detail["archive_sha256"] == built.package_sha256
    assert incomplete[0].detail["bytes_sent"] < int(cut.headers["Content-Length"])

    whole = prosecutor.get(url)
    assert hashlib.sha256(whole.data).hexdigest() == built.package_sha256
    sent = events_of(console, "export_download", built.id)
    assert [e.detail["bytes"] for e in sent] == [len(whole.data)]
    assert sent[0].detail["sent_sha256"] == built.package_sha256
    assert len(events_of(console, "export_download_incomplete", built.id)) == 1


def test_the_case_team_downloads_not_only_the_requester(console: Console) -> None:
    request_id = approved(console)
    settle(console, request_id)
    for username in ("court-clerk", "supervisor", "auditor"):  # the unit's, not who asked
        other = client_for(console, username)
        response = other.get(f"/exports/{request_id}/download")
        assert response.status_code == 200 and response.data, username  # taken whole
        assert f"/exports/{request_id}/download" in other.get("/exports/").get_data(as_text=True)
        downloads = events_of(console, "export_download", request_id)
        assert downloads[-1].actor == username  # each download under its own name
    assert (
        client_for(console, "investigator").get(f"/exports/{request_id}/download").status_code
        == 403
    )


def test_verify_py_speaks_vietnamese_with_the_seal_sheets_local_times(
    console: Console, tmp_path: Path
) -> None:
    """The recipient runs `python3 verify.py` with no flag: Vietnamese, the verdict word kept
    for machines, times in the console's zone (the seal sheet's) and UTC; `--lang en` gives
    English. A segment altered after the download is reported in either language."""
    built = settle(console, approved(console))
    download = client_for(console, "prosecutor").get(f"/exports/{built.id}/download")
    assert download.status_code == 200
    checked = run_verify_on(download.data, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = checked.stdout
    assert out.rstrip().splitlines()[-2] == "RESULT: INTACT — KẾT QUẢ: NGUYÊN VẸN"
    assert "Thời gian:      theo múi giờ của hệ thống (Asia/Ho_Chi_Minh) và theo UTC" in out
    # The start as the seal sheet prints it (the console's zone), beside the same instant in UTC.
    sheet = client_for(console, "investigator").get(f"/terminal/room1/seal/{console.own_session}")
    assert sheet.status_code == 200
    started = re.search(r"</dt><dd>(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})</dd>", sheet.text)
    assert started, sheet.text
    line = re.search(r"^  bắt đầu: +(.+)$", out, re.MULTILINE)
    assert line, out
    local, utc = re.fullmatch(
        r"(\S+ \S+) \(giờ Việt Nam, UTC\+07:00\) = (\S+ \S+) UTC", line.group(1)
    ).groups()  # type: ignore[union-attr]
    assert local == started.group(1)
    assert local.split()[0] == started.group(1).split()[0]  # the seal sheet's date
    shift = datetime.fromisoformat(local) - datetime.fromisoformat(utc)
    assert shift == timedelta(hours=7)
    english = run_verify_on(download.data, tmp_path / "en", "--lang", "en")
    assert english.returncode == 0
    assert english.stdout.rstrip().splitlines()[-2] == "RESULT: INTACT"
    assert f"  started:      {local} (Viet Nam time, UTC+07:00) = {utc} UTC" in english.stdout

    package = next(p for p in tmp_path.iterdir() if p.is_dir() and p.name != "en")
    flip_byte(package / "sessions" / console.own_session / "segments" / "000000.mp4")
    for flag, verdict, reason in (
        (
            [],
            "RESULT: NOT INTACT — KẾT QUẢ: KHÔNG NGUYÊN VẸN",
            "  lý do:  nội dung đoạn video không khớp SHA-256 đã niêm phong "
            "(đã bị sửa hoặc thay thế)",
        ),
        (
            ["--lang", "en"],
            "RESULT: NOT INTACT",
            "  reason: segment content does not match its sealed SHA-256 (altered or replaced)",
        ),
    ):
        result = subprocess.run(
            [standalone_python(), "-I", "verify.py", *flag],
            cwd=package, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stdout.rstrip().splitlines()
        assert lines[-3].startswith(verdict), lines[-3:]
        assert lines[-2].endswith(f"sessions/{console.own_session}/segments/000000.mp4")
        assert lines[-1] == reason


def test_a_refused_request_builds_nothing_and_cannot_be_approved_after(console: Console) -> None:
    clerk = client_for(console, "court-clerk")
    ask(clerk, session_id=console.own_session, reason="Phiên toà ngày 12/12")
    request = latest_request(console)
    supervisor = client_for(console, "supervisor")
    assert decide(supervisor, request.id, "refuse") == 302
    refused = latest_request(console)
    assert refused.status == "refused" and refused.package == ""
    assert decide(supervisor, request.id, "approve") == 409
    assert decide(supervisor, request.id, "retry") == 409
    assert clerk.get(f"/exports/{request.id}/download").status_code == 409


def add_clip(console: Console, session_id: str) -> int:
    with console.app.app_context():
        data = console.data
        proof = clip_proof(data.store(), session_id, data.trust(), 0, 500_000)
        user = db.session.query(User).filter_by(username="prosecutor").one()
        clip = Clip(
            session_id=session_id,
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
        return clip.id


def record_long_session(console: Console, segments: int, size: int) -> str:
    writer = SessionWriter.start(
        console.data.store(create=True),
        console.data.signer(),
        SessionMetadata(case_number="VKS-7/2026", room="Phòng 1", unit="hanoi-bd"),
        MEDIA,
        on_head=catalog_reporter(console.data).on_head,
    )
    for index in range(segments):
        writer.inflight_path(index).write_bytes(os.urandom(size))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    writer.stop("kết thúc")
    return writer.session_id


def test_a_clip_export_holds_only_the_clips_segments(console: Console, tmp_path: Path) -> None:
    clip_id = add_clip(console, console.own_session)
    with console.app.app_context():  # the number people see on the clip's page
        db.session.get(Clip, clip_id).exhibit_number = "VC-77"
        db.session.commit()
    prosecutor = client_for(console, "prosecutor")
    status, _ = ask(prosecutor, clip_id="VC-77", reason=REASON)
    assert status == 302
    request = latest_request(console)
    assert request.clip_id == clip_id
    decide(client_for(console, "supervisor"), request.id, "approve")
    settle(console, request.id)
    download = prosecutor.get(f"/exports/{request.id}/download")
    disposition = download.headers["Content-Disposition"]
    assert re.search(
        rf'filename="VKS-1-2026_VC-77_\d{{4}}-\d{{2}}-\d{{2}}_{request.id}.zip"', disposition
    )
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        names = archive.namelist()
    assert any(n.endswith("/clip.json") for n in names)
    checked = run_verify_on(download.data, tmp_path, "--lang", "en")
    assert checked.returncode == 0, checked.stdout
    assert "Clip:" in checked.stdout
    assert last_event(console, console.own_session, "export")["kind"] == "clip"


def test_the_console_and_sealroom_export_build_a_clip_package_alike(
    console: Console, tmp_path: Path
) -> None:
    """One builder for both: the same proof and exporting key, and each package's custody
    excerpt is the session's log up to that package's own export."""
    clip_id = add_clip(console, console.own_session)
    prosecutor = client_for(console, "prosecutor")
    ask(prosecutor, clip_id=clip_id, reason=REASON)
    request_id = latest_request(console).id
    decide(client_for(console, "supervisor"), request_id, "approve")
    built = settle(console, request_id)
    assert built.status == "built"
    download = prosecutor.get(f"/exports/{request_id}/download")
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        archive.extractall(tmp_path / "console")
    by_console = tmp_path / "console" / Path(built.package).stem
    by_command = tmp_path / "command"
    result = run_sealroom(
        "export", f"clip-{clip_id}", "--out", str(by_command), data_dir=console.data.root
    )
    assert result.returncode == 0, result.stderr

    def exporter_files(package: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((package / "exporter").iterdir())}

    assert exporter_files(by_console) == exporter_files(by_command)
    assert "certificate.pem" in exporter_files(by_command)
    assert (by_console / "clip.json").read_bytes() == (by_command / "clip.json").read_bytes()
    with console.app.app_context():
        log = custody_log().entries(session_id=console.own_session)
    for package, name in ((by_console, built.package), (by_command, by_command.name)):
        own = next(i for i, e in enumerate(log) if e.detail.get("package") == name)
        excerpt = json.loads((package / "custody.json").read_text(encoding="utf-8"))
        # Every row of the session before this export but refused accesses (no other unit
        # acted on it here), each saying who did what, when and in which role.
        kept = [e for e in log[:own] if e.action != "access_denied"]
        assert [(e["seq"], e["actor"], e["action"]) for e in excerpt["entries"]] == [
            (e.seq, e.actor, e.action) for e in kept
        ]


def test_tampered_evidence_is_not_exported(console: Console) -> None:
    tampered = record_session(console.data, "hanoi-bd", "VKS-9/2026", b"\x00" * 4096)
    segment = console.data.evidence / "sessions" / tampered / "segments" / "000000.mp4"
    segment.chmod(0o644)
    segment.write_bytes(b"\x01" * 4096)
    request_id = approved(console, tampered)
    failed = settle(console, request_id)
    assert failed.status == "failed" and failed.package == ""
    event = last_event(console, tampered, "export")
    assert event["result"] == "tampered" and event["outcome"] == "failed"
    listing = client_for(console, "supervisor").get("/exports/").get_data(as_text=True)
    assert re.search(rf'id="request-{request_id}" class="export-failed"', listing)
    assert leftovers(console, request_id) == []


def test_without_approval_the_package_is_built_at_once(tmp_path: Path) -> None:
    console = build_console(tmp_path / "console")
    settings = console.app.config["SEALROOM_SETTINGS"]
    console.app.config["SEALROOM_SETTINGS"] = settings.model_copy(
        update={"exports_need_approval": False}
    )
    clerk = client_for(console, "court-clerk")
    status, _ = ask(clerk, session_id=console.own_session, reason=REASON)
    assert status == 302
    request = settle(console, latest_request(console).id)
    assert request.status == "built" and request.decided_by is None
    assert clerk.get(f"/exports/{request.id}/download").status_code == 200


def test_a_clip_named_as_shown_must_be_one(console: Console) -> None:
    add_clip(console, console.own_session)
    add_clip(console, console.own_session)  # two clips numbered VC-01
    prosecutor = client_for(console, "prosecutor")
    status, page = ask(prosecutor, clip_id="VC-01", reason=REASON)
    assert status == 400 and "Có nhiều đoạn trích mang số VC-01" in page
    status, page = ask(prosecutor, clip_id="VC-99", reason=REASON)
    assert status == 400 and "Không có đoạn trích VC-99" in page


def test_the_auditor_sees_the_list_but_cannot_request(console: Console) -> None:
    auditor = client_for(console, "auditor")
    page = auditor.get("/exports/")
    assert page.status_code == 200
    assert 'id="export-form"' not in page.get_data(as_text=True)
    token = csrf_token(auditor, "/exports/")
    assert auditor.post("/exports/1/retry", data={"csrf_token": token}).status_code == 403


@pytest.mark.slow
def test_the_list_shows_a_build_progress_and_its_result_in_chromium(
    tmp_path: Path, browser: object
) -> None:
    """A real browser: approving shows a progress bar that the page's script keeps current,
    and the page turns to "Ready" by itself when the build ends."""
    from waitress.server import create_server

    console = build_console(tmp_path / "console")
    session_id = record_long_session(console, 4, 1 << 20)
    prosecutor = client_for(console, "prosecutor")
    ask(prosecutor, session_id=session_id, reason=REASON)
    request_id = latest_request(console).id
    server = create_server(console.app, host="127.0.0.1", port=0, threads=4)
    base = f"http://127.0.0.1:{server.effective_port}"
    threading.Thread(target=server.run, daemon=True).start()
    slots = export_jobs.MAX_PARALLEL_BUILDS
    held = 0
    try:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.on("dialog", lambda dialog: dialog.accept())  # "Approve this export?"
        log_in(page, base, "supervisor")
        page.goto(f"{base}/exports/")
        # Every build slot taken: the approved build waits, "queued", until they free up.
        for _ in range(slots):
            export_jobs._slots.acquire()
            held += 1
        page.click(f"#request-{request_id} button.approve")
        page.wait_for_selector(f"#request-{request_id} progress.export-progress")
        wait_js(
            page,
            "document.querySelector('progress.export-progress').dataset.stage === 'queued'",
        )
        label = page.text_content(f"#request-{request_id} .export-stage")
        assert label and label.strip() == page.get_attribute(
            f"#request-{request_id} progress", "data-queued"
        )
        shot(page, "export-building")
        while held:
            export_jobs._slots.release()
            held -= 1
        page.wait_for_selector(f"#request-{request_id}.export-built", timeout=60_000)
        assert not page.query_selector("progress.export-progress")
        shot(page, "export-built")
        page.close()
    finally:
        for _ in range(held):
            export_jobs._slots.release()
        server.close()
    assert settle(console, request_id).status == "built"


def test_export_buttons_on_the_session_and_clip_pages_fill_the_request(console: Console) -> None:
    clip_id = add_clip(console, console.own_session)
    with console.app.app_context():  # a number no other clip of this module's console has
        clip = db.session.get(Clip, clip_id)
        assert clip is not None
        clip.exhibit_number = "VC-90"
        db.session.commit()
    prosecutor = client_for(console, "prosecutor")
    session_page = prosecutor.get(f"/sessions/{console.own_session}").get_data(as_text=True)
    link = re.search(r'id="export-session" href="([^"]+)"', session_page)
    assert link is not None
    form = prosecutor.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'value="{console.own_session}"' in form
    clip_page = prosecutor.get(f"/clips/{clip_id}").get_data(as_text=True)
    link = re.search(r'id="export-clip" href="([^"]+)"', clip_page)
    assert link is not None
    form = prosecutor.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    # The clip alone, by its exhibit number: its session is the clip's, not a second thing.
    assert 'value="VC-90"' in form
    assert re.search(r'<input id="export-session"[^>]*value="s-', form) is None
    # Where two clips the user sees share the number, the link names this one by its own.
    twin = add_clip(console, console.own_session)
    with console.app.app_context():
        clip = db.session.get(Clip, twin)
        assert clip is not None
        clip.exhibit_number = "VC-90"
        db.session.commit()
    clip_page = prosecutor.get(f"/clips/{twin}").get_data(as_text=True)
    assert f'href="/exports/?clip=clip-{twin}#export-form"' in clip_page
    # No button for who may not ask for an export.
    investigator = client_for(console, "investigator")
    page = investigator.get(f"/sessions/{console.own_session}").get_data(as_text=True)
    assert 'id="export-session"' not in page
