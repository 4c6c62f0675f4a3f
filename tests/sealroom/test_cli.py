"""The command line as a user meets it: record, verify, show, sessions, custody, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.cli import cli
from tests.support.cli import SMALL, RecordedSession, run_sealroom


def snapshot(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its size: to show that nothing was written."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def writable_copy(session: RecordedSession, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(session.data_dir, data_dir)
    for path in data_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return data_dir


def test_record_prints_the_session_and_where_it_lives(recorded_session: RecordedSession) -> None:
    assert recorded_session.path.is_dir()
    assert recorded_session.path.name == recorded_session.session_id
    assert (recorded_session.path / "manifest.json").is_file()


def test_verify_says_intact(recorded_session: RecordedSession) -> None:
    result = run_sealroom(
        "verify", recorded_session.session_id, "--json", data_dir=recorded_session.data_dir
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["intact"] is True
    assert report["segments"] >= 3
    assert report["signer"].startswith("CN=")
    human = run_sealroom("verify", recorded_session.session_id, data_dir=recorded_session.data_dir)
    assert human.returncode == 0 and "INTACT" in human.stdout


def test_show_prints_the_manifest(recorded_session: RecordedSession) -> None:
    result = run_sealroom(
        "show", recorded_session.session_id, "--json", data_dir=recorded_session.data_dir
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["session"] == recorded_session.session_id
    assert manifest["metadata"]["case_number"] == "VKS-123/2026"
    assert manifest["metadata"]["accused"] == ["Nguyễn Văn Án"]
    assert manifest["stop_reason"] == "requested duration reached"


def test_sessions_lists_id_room_case_state_start_duration(
    recorded_session: RecordedSession,
) -> None:
    result = run_sealroom("sessions", "--json", data_dir=recorded_session.data_dir)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    row = next(r for r in rows if r["session_id"] == recorded_session.session_id)
    assert row["room"] == "Phòng hỏi cung 1"
    assert row["case_number"] == "VKS-123/2026"
    assert row["state"] == "sealed"
    assert row["started_at"].endswith("Z")
    assert 3.0 <= row["duration_seconds"] <= 5.0


def test_record_and_verify_are_in_the_custody_log(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    assert run_sealroom("verify", recorded_session.session_id, data_dir=data_dir).returncode == 0
    result = run_sealroom(
        "custody", "log", "--session", recorded_session.session_id, "--json", data_dir=data_dir
    )
    actions = [e["action"] for e in json.loads(result.stdout)]
    assert actions[:2] == ["record_started", "record_sealed"]
    assert "verify" in actions
    check = run_sealroom("custody", "verify", "--json", data_dir=data_dir)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["intact"] is True


def test_custody_verify_catches_a_rewritten_row(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    import sqlite3

    data_dir = writable_copy(recorded_session, tmp_path)
    with sqlite3.connect(data_dir / "custody.db") as db:
        db.execute("UPDATE custody_events SET actor = 'someone-else' WHERE seq = 1")
    result = run_sealroom("custody", "verify", data_dir=data_dir)
    assert result.returncode == 1
    assert "row 1" in result.stdout and "rewritten" in result.stdout


def test_verify_names_the_first_broken_link_after_a_flipped_byte(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    session_dir = data_dir / "evidence" / "sessions" / recorded_session.session_id
    segment = session_dir / "segments" / "000001.mp4"
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    result = run_sealroom("verify", recorded_session.session_id, "--json", data_dir=data_dir)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report == report | {
        "intact": False,
        "result": "tampered",
        "location": "segments/000001.mp4",
    }
    assert "SHA-256" in report["reason"]


def test_verify_names_a_deleted_segment(recorded_session: RecordedSession, tmp_path: Path) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    session_dir = data_dir / "evidence" / "sessions" / recorded_session.session_id
    (session_dir / "segments" / "000002.mp4").unlink()
    result = run_sealroom("verify", recorded_session.session_id, data_dir=data_dir)
    assert result.returncode == 1
    assert "segments/000002.mp4" in result.stdout and "missing" in result.stdout


# -- bad input: one clear line, a non-zero exit, no traceback, nothing written ----------------


def assert_clean_failure(result: object, code: int, fragment: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == code, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("sealroom: error:") and fragment in lines[0]


def test_unknown_session(recorded_session: RecordedSession) -> None:
    before = snapshot(recorded_session.data_dir)
    result = run_sealroom(
        "verify", "s-20260101T000000Z-deadbeef", data_dir=recorded_session.data_dir
    )
    assert_clean_failure(result, 2, "unknown session")
    assert run_sealroom("show", "../../etc", data_dir=recorded_session.data_dir).returncode == 2
    assert snapshot(recorded_session.data_dir) == before


def test_data_dir_that_cannot_be_a_directory(tmp_path: Path) -> None:
    # A path below a regular file can never be created, even by root.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    result = run_sealroom(
        "record",
        "--synthetic",
        "--room",
        "r",
        "--case",
        "c",
        "--duration",
        "2",
        *SMALL,
        data_dir=blocker / "data",
    )
    assert_clean_failure(result, 2, "cannot create data directory")
    assert snapshot(tmp_path) == {"not-a-directory": 1}


@pytest.mark.parametrize("duration", ["-5", "0", "1e9", "nan", "abc"])
def test_bad_duration(tmp_path: Path, duration: str) -> None:
    result = run_sealroom(
        "record",
        "--synthetic",
        "--room",
        "r",
        "--case",
        "c",
        "--duration",
        duration,
        *SMALL,
        data_dir=tmp_path / "data",
    )
    assert_clean_failure(result, 2, "duration")
    assert not (tmp_path / "data").exists()


def test_corrupt_manifest_that_is_not_json(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    manifest = data_dir / "evidence" / "sessions" / recorded_session.session_id / "manifest.json"
    manifest.write_text("{ this is not json")
    before = snapshot(data_dir / "evidence" / "sessions")
    shown = run_sealroom("show", recorded_session.session_id, data_dir=data_dir)
    assert_clean_failure(shown, 1, "manifest.json: not valid JSON")
    verified = run_sealroom("verify", recorded_session.session_id, data_dir=data_dir)
    assert verified.returncode == 1 and "Traceback" not in verified.stderr
    assert "manifest.json" in verified.stdout
    assert snapshot(data_dir / "evidence" / "sessions") == before


def test_record_without_a_device_source_is_refused(tmp_path: Path) -> None:
    result = run_sealroom(
        "record", "--room", "r", "--case", "c", "--duration", "2", data_dir=tmp_path / "data"
    )
    assert_clean_failure(result, 2, "--synthetic")
    assert not (tmp_path / "data").exists()


def test_the_shell_only_composes_the_packages_commands() -> None:
    """Every `sealroom` command lives in the package that owns it, none in the shell."""
    homes = {name: command.callback.__module__ for name, command in cli.commands.items()}  # type: ignore[union-attr]
    assert homes["export"] == "web.exports.cli"
    assert {"export", "run", "console", "users", "units", "recorder", "verify"} <= homes.keys()
    assert [name for name, home in homes.items() if home.startswith("sealroom")] == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"sealroom.recorder": {"fps": 999}}', "fps"),
    ],
)
def test_the_recorder_entry_refuses_bad_settings_and_starts_nothing(
    tmp_path: Path, document: str, message: str
) -> None:
    """`python -m recorder.cli --settings-stdin`, as `sealroom run` starts the service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    data_dir = tmp_path / "data"
    serve = ["recorder", "serve", "--room", "demo", "--synthetic", "--data-dir", str(data_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "recorder.cli", "--settings-stdin", *serve],
        input=document,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "SEALROOM_RECORDER_TOKEN": "t" * 40},
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m recorder.cli: error: the settings on standard input")
    assert message in lines[0]
    assert not data_dir.exists()
