"""Scrubbing: every sealed session verified again, locally and in the bucket, paced, and
resumed after the last session it finished; a copy that fails is an alarm and a custody
event, and stays listed until it verifies again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from evidence_store.installation import DataDir
from evidence_store.scrub import Scrubber, ScrubResult, ScrubState
from evidence_store.scrub.scrubber import Pace, ScrubStopped
from evidence_store.upload import open_uploader
from tests.support.cli import run_sealroom
from tests.support.s3 import (
    S3Target,
    data_dir,
    random_segments,
    run_sealroom_env,
    write_session,
)


def sessions(data: DataDir, count: int) -> list[str]:
    return sorted(write_session(data, random_segments(2, 16 * 1024)) for _ in range(count))


def alter_segment(data: DataDir, session_id: str, index: int = 1) -> None:
    path = data.evidence / "sessions" / session_id / "segments" / f"{index:06d}.mp4"
    path.chmod(0o644)
    with path.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00altered\x00")


def custody(data: DataDir, action: str) -> list[tuple[str | None, dict[str, object]]]:
    entries = data.custody(data.store(), data.signer()).entries(action=action)
    return [(e.session_id, e.detail) for e in entries]


def test_a_changed_segment_is_an_alarm_a_custody_event_and_stays_listed_until_it_verifies(
    tmp_path: Path,
) -> None:
    data = data_dir(tmp_path / "data")
    first, second = sessions(data, 2)
    open_session = write_session(data, random_segments(1), seal=False)
    alter_segment(data, second)

    report = Scrubber(data, stores=("local",)).run_pass()
    assert report.complete
    # Sessions made within one second sort by their random suffix: compare without order.
    assert {r.session_id: r.result for r in report.results} == {
        first: "intact",
        second: "tampered",
        open_session: "skipped",
    }
    assert len(report.results) == 3
    (failure,) = report.failures
    assert failure.location == "segments/000001.mp4"
    alarms = custody(data, "alarm")
    assert [(sid, d["kind"]) for sid, d in alarms] == [(second, "verification_failed")]
    assert "segments/000001.mp4" in str(alarms[0][1]["reason"])
    scrubbed = {sid: d["result"] for sid, d in custody(data, "scrub")}
    assert scrubbed == {first: "intact", second: "tampered"}  # the open one is not touched

    state = ScrubState.load(data)
    assert state is not None and list(state.failures) == [f"local:{second}"]
    assert state.last_pass_end is not None and state.pass_started is None

    Scrubber(data, stores=("local",)).run_pass()  # still failing: no second alarm
    assert len(custody(data, "alarm")) == 1


def test_a_pass_cut_off_resumes_after_the_last_session_it_finished(tmp_path: Path) -> None:
    data = data_dir(tmp_path / "data")
    ids = sessions(data, 3)
    stop = threading.Event()

    def stop_after_first(result: ScrubResult) -> None:
        stop.set()  # as SIGTERM would: the next session is not begun

    cut = Scrubber(data, stores=("local",), on_result=stop_after_first).run_pass(stop)
    assert not cut.complete and [r.session_id for r in cut.results] == ids[:1]
    state = ScrubState.load(data)
    assert state is not None and state.cursor == {"local": ids[0]} and state.pass_started

    resumed = Scrubber(data, stores=("local",)).run_pass()
    assert resumed.complete and [r.session_id for r in resumed.results] == ids[1:]
    again = Scrubber(data, stores=("local",)).run_pass()  # a new pass starts from the top
    assert [r.session_id for r in again.results] == ids


class _RecordedWaits(threading.Event):
    """A stop event that records how long each pause would have been, without waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return self.is_set()


def test_reading_is_paced_to_the_configured_rate() -> None:
    now = [100.0]
    stop = _RecordedWaits()
    pace = Pace(1000.0, stop, clock=lambda: now[0])
    for _ in range(5):
        pace(500)  # 500 bytes at 1000 B/s: each chunk starts half a second after the last
    assert stop.waits == pytest.approx([0.5, 1.0, 1.5, 2.0])  # the clock did not move
    assert pace.bytes == 2500
    stop.set()
    with pytest.raises(ScrubStopped):
        pace(1)


def test_the_bucket_copy_is_scrubbed_and_an_upload_in_progress_is_skipped(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    data = data_dir(tmp_path / "data")
    (sealed,) = sessions(data, 1)
    still_open = write_session(data, random_segments(1), seal=False)
    open_uploader(data, environ=s3_target.env(bucket)).run(
        threading.Event(), drain=True, timeout=120
    )
    result = run_sealroom_env(
        "scrub",
        "--store",
        "bucket",
        "--json",
        "--data-dir",
        str(data.root),
        env=s3_target.env(bucket),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["stores"] == ["bucket"] and report["sessions"] == 1 and report["skipped"] == 1
    scrubbed = custody(data, "scrub")
    assert [(sid, d["store"], d["result"]) for sid, d in scrubbed] == [(sealed, "bucket", "intact")]
    assert still_open not in {sid for sid, _ in scrubbed}


def test_the_command_line_exits_1_on_a_failure_and_runs_as_a_daemon_with_metrics(
    tmp_path: Path,
) -> None:
    data = data_dir(tmp_path / "data")
    first, _ = sessions(data, 2)
    assert run_sealroom("scrub", data_dir=data.root).returncode == 0
    alter_segment(data, first)
    failed = run_sealroom("scrub", "--store", "local", data_dir=data.root)
    assert failed.returncode == 1
    assert f"{first} (local): TAMPERED — first failure: segments/000001.mp4" in failed.stdout
    bad_rate = run_sealroom("scrub", "--rate", "fast", data_dir=data.root)
    assert bad_rate.returncode == 2 and "--rate takes bytes per second" in bad_rate.stderr

    config = tmp_path / "sealroom.toml"
    config.write_text("[evidence.operations]\nscrub_interval_hours = 0.0003\n")  # ~1 s
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    daemon = subprocess.Popen(
        [
            *(sys.executable, "-m", "sealroom", "--config", str(config), "scrub", "--daemon"),
            *("--metrics-port", "0", "--data-dir", str(data.root)),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert daemon.stderr is not None
        line = daemon.stderr.readline()
        url = line.split("metrics on ", 1)[1].strip()
        deadline = time.monotonic() + 60
        text = ""
        while 'sealroom_scrubbed_sessions_total{result="tampered",store="local"} 2.0' not in text:
            # two passes have found it
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode()
        assert 'sealroom_verification_failures_total{where="scrub_local"} 2.0' in text
        assert "sealroom_scrub_failed_sessions 1.0" in text
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
