"""The recorder service over real HTTP: ``sealroom recorder serve`` in its own process on
127.0.0.1, driven through ``recorder.control.client`` exactly as the console drives it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from evidence_store.index.summary import read_manifest
from evidence_store.store import FilesystemStore
from recorder.cli.serve import SHUTDOWN_REASON
from recorder.control.client import (
    RecorderAuthError,
    RecorderClient,
    RecorderRefusedError,
    RecorderUnreachableError,
)
from tests.support.cli import SMALL, run_sealroom
from tests.support.recorder_service import (
    METADATA,
    ROOM,
    TOKEN,
    Service,
    raw_request,
    serve,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    running = serve(tmp_path, tmp_path / "data")
    yield running
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(timeout=20)


def test_every_request_needs_the_token(service: Service) -> None:
    for token in (None, "wrong-token-0000000000", TOKEN + "x"):
        for path, method in (
            ("/status", "GET"),
            ("/sessions", "POST"),
            ("/session/stop", "POST"),
            ("/preview.jpg", "GET"),
        ):
            status, body = raw_request(
                service.url + path,
                token=token,
                method=method,
                body=b"{}" if method == "POST" else None,
            )
            assert status == 401, (path, token)
            assert body["error"] == {
                "code": "unauthorized",
                "message": "a valid bearer token is required",
            }
    with pytest.raises(RecorderAuthError, match="refused the token"):
        service.client("wrong-token-0000000000").status()
    assert service.client().status().state == "idle"


def test_a_session_through_the_client(service: Service) -> None:
    client = service.client()
    idle = client.status()
    assert idle.state == "idle" and idle.session_id is None and idle.room == ROOM
    started = client.start(**METADATA)
    assert started.state == "recording" and started.session_id is not None
    with pytest.raises(RecorderRefusedError, match="is being recorded") as busy:
        client.start(case_number="VKS-43/2026")
    assert busy.value.status == 409 and busy.value.code == "conflict"

    status = wait_for(service, "segments_sealed")
    assert status.media_seconds > 0 and status.elapsed_seconds is not None
    assert {d.kind for d in status.devices} == {"camera", "microphone"}
    time.sleep(1.2)
    later = client.status()
    assert later.segments_sealed > status.segments_sealed  # the status advances
    assert later.media_seconds > status.media_seconds

    picture = cv2.imdecode(np.frombuffer(client.preview_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape == (240, 320, 3)
    level = client.audio_level()
    assert level.dbfs is not None and -96 <= level.dbfs < 0 and level.device

    # A reason is mandatory, and its absence changes nothing.
    for body in (b"{}", b'{"reason": "   "}', b"not json"):
        code, error = raw_request(
            service.url + "/session/pause", token=TOKEN, body=body, method="POST"
        )
        assert code == 400 and error["error"] == {
            "code": "reason_required",
            "message": "a reason is required: it is recorded in the session's chain",
        }
    with pytest.raises(RecorderRefusedError, match="a reason is required") as missing:
        client.stop("")
    assert missing.value.status == 400
    assert client.status().state == "recording"

    paused = client.pause("Bị can xin nghỉ uống nước")
    assert paused.state == "paused"
    with pytest.raises(RecorderRefusedError, match="cannot pause"):
        client.pause("again")
    assert client.resume("Tiếp tục hỏi cung").state == "recording"
    wait_for(service, "segments_sealed")
    outcome = client.stop("Kết thúc buổi hỏi cung")
    assert outcome.session_id == started.session_id and outcome.outcome == "stopped"
    assert client.status().state == "idle"
    assert client.status().last_session == outcome

    verified = run_sealroom("verify", outcome.session_id, "--json", data_dir=service.data_dir)
    assert verified.returncode == 0, verified.stdout
    manifest = read_manifest(
        FilesystemStore.open(service.data_dir / "evidence", create=False), outcome.session_id
    )
    assert manifest.metadata.room == "Phòng hỏi cung 2"
    assert manifest.metadata.others_present[0].role == "luật sư"
    assert [p.reason for p in manifest.pauses] == ["Bị can xin nghỉ uống nước"]
    assert manifest.stop_reason == "Kết thúc buổi hỏi cung"
    with pytest.raises(RecorderRefusedError, match="not recording"):
        client.preview_jpeg()


def test_after_kill_9_the_restarted_service_recovers_the_session(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = serve(tmp_path, data_dir)
    started = first.client().start(case_number="VKS-44/2026", accused=["Phạm Thị Dung"])
    wait_for(first, "segments_sealed")
    first.process.kill()  # SIGKILL: no chance to stop or seal anything
    first.process.wait(timeout=10)
    with pytest.raises(RecorderUnreachableError, match="cannot be reached"):
        first.client().status()
    state = json.loads((data_dir / "recorder" / f"{ROOM}.json").read_text())
    assert state["state"] == "recording" and state["session_id"] == started.session_id

    began = time.monotonic()
    second = serve(tmp_path, data_dir)
    try:
        ready_after = time.monotonic() - began
        status = second.client().status()
        assert status.state == "idle"
        assert status.last_session is not None
        assert status.last_session.session_id == started.session_id
        assert status.last_session.outcome == "interrupted"
        assert [r.session_id for r in status.recovered] == [started.session_id]
        verified = run_sealroom("verify", str(started.session_id), "--json", data_dir=data_dir)
        assert verified.returncode == 0, verified.stdout
        assert json.loads(verified.stdout)["interrupted"] is True

        again = second.client().start(case_number="VKS-45/2026")  # ready for a new one
        assert again.state == "recording" and again.session_id != started.session_id
        wait_for(second, "segments_sealed")
        # SIGTERM stops the session cleanly, with a reason, before the service leaves.
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=20) == 0
        manifest = read_manifest(
            FilesystemStore.open(data_dir / "evidence", create=False), str(again.session_id)
        )
        assert manifest.stop_reason == SHUTDOWN_REASON and not manifest.interrupted
        print(f"\nrestarted service ready (recovery included) in {ready_after:.2f} s")
    finally:
        if second.process.poll() is None:
            second.process.kill()


def test_a_second_service_for_the_same_room_is_refused(service: Service, tmp_path: Path) -> None:
    holder = rf"room {ROOM} is held by the recorder service \(pid {service.process.pid}\)"
    with pytest.raises(AssertionError, match=holder):
        serve(tmp_path, service.data_dir)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def record(data_dir: Path, room: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_sealroom(
        "record",
        "--synthetic",
        "--room",
        room,
        "--case",
        "VKS-46/2026",
        "--duration",
        "1",
        *SMALL,
        *extra,
        data_dir=data_dir,
    )


def test_record_refuses_a_room_that_its_recorder_service_holds(service: Service) -> None:
    before = snapshot(service.data_dir)
    refused = record(service.data_dir, ROOM)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr == (
        f"sealroom: error: room {ROOM} is held by the recorder service "
        f"(pid {service.process.pid}): a room is recorded by one process at a time\n"
    )
    assert snapshot(service.data_dir) == before  # nothing was written
    # The lock is the room's, not the installation's: another room records meanwhile.
    other = record(service.data_dir, "P3-VKS-HaNoi", "--json")
    assert other.returncode == 0, other.stderr
    verified = run_sealroom(
        "verify", json.loads(other.stdout)["session_id"], data_dir=service.data_dir
    )
    assert verified.returncode == 0, verified.stdout
    assert service.client().start(case_number="VKS-47/2026").state == "recording"


def test_a_killed_service_leaves_no_stale_lock(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    killed = serve(tmp_path, data_dir)
    killed.process.kill()  # SIGKILL: the lock file stays, naming a process that is gone
    killed.process.wait(timeout=10)
    lock = data_dir / "recorder" / f"{ROOM}.lock"
    assert f"pid {killed.process.pid}" in lock.read_text()
    recorded = record(data_dir, ROOM, "--json")  # the kernel released the flock
    assert recorded.returncode == 0, recorded.stderr
    session_id = json.loads(recorded.stdout)["session_id"]
    assert run_sealroom("verify", session_id, data_dir=data_dir).returncode == 0


def test_the_service_refuses_a_room_that_sealroom_record_holds(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    command = ["record", "--synthetic", "--room", ROOM, "--case", "VKS-48/2026"]
    command += ["--duration", "60", *SMALL, "--json", "--data-dir", str(data_dir)]
    recording = subprocess.Popen(
        [sys.executable, "-m", "sealroom", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lock = data_dir / "recorder" / f"{ROOM}.lock"
        holder = f"sealroom record (pid {recording.pid})"
        deadline = time.monotonic() + 30
        while not (lock.exists() and holder in lock.read_text()):
            assert time.monotonic() < deadline and recording.poll() is None, "record never began"
            time.sleep(0.1)
        with pytest.raises(AssertionError, match=re.escape(f"is held by {holder}")):
            serve(tmp_path, data_dir)
    finally:
        recording.send_signal(signal.SIGINT)  # the operator's Ctrl-C: stop and seal
        out, err = recording.communicate(timeout=30)
    assert recording.returncode == 0, err
    manifest = read_manifest(
        FilesystemStore.open(data_dir / "evidence", create=False), json.loads(out)["session_id"]
    )
    assert manifest.stop_reason == "stopped by the operator (interrupt)"


def test_the_service_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="needs a control token"):
        serve(tmp_path, tmp_path / "data", token=None)


def test_a_service_that_is_down_is_reported_unreachable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RecorderClient(f"http://127.0.0.1:{port}", TOKEN, timeout=2)
    for call in (
        client.status,
        client.preview_jpeg,
        client.audio_level,
        lambda: client.stop("done"),
    ):
        with pytest.raises(RecorderUnreachableError):
            call()


def test_the_client_does_not_load_the_pipeline() -> None:
    code = (
        "import sys, recorder.control.client; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'av', 'cv2', 'hardware'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
