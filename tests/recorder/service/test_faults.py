"""Faults outside the evidence never stop a recording, and a kill at any step loses nothing a
person relies on: the stop's reason, which session was the last, what recovery salvaged.

Each kill is real: the process is told by ``SEALROOM_FAILPOINT`` (``evidence_store.failpoints``)
to ``SIGKILL`` itself at one named step, so the moment is exact, not a guess of timing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidence_store.custody import CustodyJournal
from recorder.control.client import RecorderUnreachableError
from tests.support.cli import run_sealroom
from tests.support.recorder_service import (
    CONFIG,
    METADATA,
    PATIENCE,
    Service,
    serve,
    service_env,
    wait_for,
)

pytestmark = pytest.mark.slow

REASON = "Kết thúc buổi hỏi cung"
# Segments long enough that the one in flight holds flushed fragments: something to salvage.
LONG_SEGMENTS = CONFIG.replace("segment_seconds = 1", "segment_seconds = 4")


def stop_service(service: Service) -> None:
    if service.process.poll() is None:
        service.process.send_signal(signal.SIGTERM)
        try:
            service.process.wait(timeout=2 * PATIENCE)
        except subprocess.TimeoutExpired:
            service.process.kill()  # never leave a service behind
            raise AssertionError("the service did not stop on SIGTERM") from None


def verified(data_dir: Path, session_id: str) -> dict[str, object]:
    result = run_sealroom("verify", session_id, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    outcome: dict[str, object] = json.loads(result.stdout)
    return outcome


def custody_actions(data_dir: Path, session_id: str) -> list[dict[str, object]]:
    result = run_sealroom("custody", "log", "--session", session_id, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    entries: list[dict[str, object]] = json.loads(result.stdout)
    return entries


def zero_fill(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))


# -- the custody database --------------------------------------------------------------------


def test_a_custody_database_zero_filled_under_a_running_service_never_stops_a_recording(
    tmp_path: Path,
) -> None:
    service = serve(tmp_path, tmp_path / "data")
    try:
        client = service.client()
        started = client.start(**METADATA)
        wait_for(service, "segments_sealed")
        zero_fill(service.data_dir / "custody.db")
        outcome = client.stop(REASON)  # sealed, although the log cannot take the event
        assert outcome.session_id == started.session_id and outcome.outcome == "stopped"
        status = client.status()
        assert status.alarm is not None and "custody log damaged" in status.alarm
        again = client.start(case_number="VKS-50/2026")  # and the next session starts
        assert again.state == "recording"
        wait_for(service, "segments_sealed")
        client.stop(REASON)
    finally:
        stop_service(service)
    assert verified(service.data_dir, str(started.session_id))["intact"] is True
    journaled = [
        e.action for e in CustodyJournal(service.data_dir / "custody-journal.jsonl").events()
    ]
    assert {"record_sealed", "record_started"} <= set(journaled)


def test_a_service_started_on_a_truncated_custody_database_records_seals_and_alarms(
    tmp_path: Path,
) -> None:
    """An empty file is a new, empty database to SQLite: appending to it collided with the
    checkpoints of every row it lost, and each start answered 500 leaving an orphan."""
    data_dir = tmp_path / "data"
    first = serve(tmp_path, data_dir)
    first.client().start(**METADATA)
    wait_for(first, "segments_sealed")
    first.client().stop(REASON)
    stop_service(first)
    (data_dir / "custody.db").write_bytes(b"")

    second = serve(tmp_path, data_dir)
    try:
        client = second.client()
        assert "custody log damaged" in str(client.status().alarm)
        started = client.start(case_number="VKS-51/2026")
        assert started.state == "recording"
        wait_for(second, "segments_sealed")
        outcome = client.stop(REASON)
    finally:
        stop_service(second)
    assert verified(data_dir, outcome.session_id)["intact"] is True
    sessions = json.loads(run_sealroom("sessions", "--json", data_dir=data_dir).stdout)
    assert {s["state"] for s in sessions} == {"sealed"}  # no orphan left unsealed

    repaired = run_sealroom("custody", "repair", data_dir=data_dir)
    assert "appended" in repaired.stdout, repaired.stdout + repaired.stderr
    assert "record_sealed" in {e["action"] for e in custody_actions(data_dir, outcome.session_id)}


# -- a kill while stopping -------------------------------------------------------------------

STOP_STEPS = [
    "stop:requested",  # the reason is on disk; the last segment is still being finished
    "writer:ended",  # the stopped event is chained; nothing sealed yet
    "seal:manifest.json",  # part-way through sealing: the manifest written, not signed
    "service:sealed",  # sealed; the custody event and the state file not written
]


@pytest.mark.parametrize("step", STOP_STEPS)
def test_a_kill_at_any_step_of_stop_keeps_the_reason_and_the_last_session(
    tmp_path: Path, step: str
) -> None:
    data_dir = tmp_path / "data"
    first = serve(tmp_path, data_dir, env={"SEALROOM_FAILPOINT": step})
    started = first.client().start(**METADATA)
    wait_for(first, "segments_sealed")
    with pytest.raises(RecorderUnreachableError):
        first.client().stop(REASON)  # the process kills itself while answering
    assert first.process.wait(timeout=PATIENCE) == -signal.SIGKILL

    second = serve(tmp_path, data_dir)
    try:
        last = second.client().status().last_session
    finally:
        stop_service(second)
    assert last is not None and last.session_id == started.session_id
    assert REASON in str(last.reason)
    assert verified(data_dir, str(started.session_id))["intact"] is True


# -- a kill while recovering -----------------------------------------------------------------

RECOVERY_STEPS = [
    "recovery:salvaged",  # the salvaged copy is published, not sealed
    "recovery:segment_sealed",  # the salvaged segment is chained; the session not ended
    "writer:ended",  # the interrupted event is chained; nothing sealed yet (sealing is
    # the same code as a stop's: its other steps are killed above)
]


@pytest.mark.parametrize("step", RECOVERY_STEPS)
def test_a_kill_at_any_step_of_recovery_keeps_the_salvage_and_the_last_session(
    tmp_path: Path, step: str
) -> None:
    data_dir = tmp_path / "data"
    first = serve(tmp_path, data_dir, config=LONG_SEGMENTS)
    started = first.client().start(**METADATA)
    wait_for(first, "segments_sealed")
    deadline = time.monotonic() + PATIENCE
    while first.client().status().media_seconds < 7.0:  # 3 s into the second segment
        assert time.monotonic() < deadline
        time.sleep(0.1)
    first.process.kill()
    first.process.wait(timeout=PATIENCE)

    config = tmp_path / "sealroom.toml"  # written by serve
    cut = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealroom",
            "--config",
            str(config),
            "recover",
            "--data-dir",
            str(data_dir),
        ],
        env=service_env(SEALROOM_FAILPOINT=step),
        capture_output=True,
        text=True,
        timeout=2 * PATIENCE,
        check=False,
    )
    assert cut.returncode == -signal.SIGKILL, cut.stderr  # it reached the step, and died

    second = serve(tmp_path, data_dir, config=LONG_SEGMENTS)
    try:
        last = second.client().status().last_session
    finally:
        stop_service(second)
    assert last is not None and last.session_id == started.session_id
    assert "salvaged" in str(last.reason) and last.outcome == "interrupted"
    assert verified(data_dir, str(started.session_id))["intact"] is True
    recoveries = [
        e
        for e in custody_actions(data_dir, str(started.session_id))
        if e["action"] == "record_recovered"
    ]
    assert recoveries and recoveries[-1]["detail"]["salvaged"]  # type: ignore[index]
