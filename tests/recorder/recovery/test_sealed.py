"""Recovery never seals again a session a record says was sealed: with its seal removed (and
perhaps its end with it), sealing it again would give a shortened recording a fresh seal
under the device's own key. It raises an alarm and records it instead."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.cli import RecordedSession, run_sealroom


def writable_copy(session: RecordedSession, destination: Path) -> Path:
    data_dir = destination / "data"
    shutil.copytree(session.data_dir, data_dir)
    for path in data_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return data_dir


def shorten(session_dir: Path) -> None:
    """rm the last segment, its link, the stop link and the seal: finding 1 of issue 11."""
    links = sorted((session_dir / "chain").glob("*.json"))
    last_segment = max(
        (json.loads(p.read_bytes()) for p in links if b'"kind":"segment"' in p.read_bytes()),
        key=lambda link: link["seq"],
    )
    (session_dir / "segments" / last_segment["segment"]["name"]).unlink()
    for seq in range(last_segment["seq"], len(links)):
        for suffix in ("json", "sig"):
            (session_dir / "chain" / f"{seq:06d}.{suffix}").unlink()
    for name in ("manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig"):
        (session_dir / name).unlink()


def test_a_sealed_session_shortened_is_refused_with_an_alarm(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    session_id = recorded_session.session_id
    session_dir = data_dir / "evidence" / "sessions" / session_id
    shorten(session_dir)
    left = sorted(p.relative_to(session_dir) for p in session_dir.rglob("*"))

    result = run_sealroom("recover", "--json", data_dir=data_dir)

    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["recovered"] == []
    (refused,) = report["refused"]
    assert refused["session_id"] == session_id
    assert "the custody log records it as sealed" in refused["reason"]
    assert sorted(p.relative_to(session_dir) for p in session_dir.rglob("*")) == left
    log = run_sealroom("custody", "log", "--session", session_id, "--json", data_dir=data_dir)
    alarms = [e for e in json.loads(log.stdout) if e["action"] == "alarm"]
    assert [a["detail"]["kind"] for a in alarms] == ["reseal_refused"]
    assert run_sealroom("custody", "verify", data_dir=data_dir).returncode == 0


def test_a_session_never_sealed_is_still_recovered(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    # The same files missing, but no record of a seal: a crash, which recovery finishes.
    data_dir = writable_copy(recorded_session, tmp_path)
    (data_dir / "custody.db").unlink()  # a log that never knew the session
    shutil.rmtree(data_dir / "evidence" / "custody")
    session_dir = data_dir / "evidence" / "sessions" / recorded_session.session_id
    shorten(session_dir)

    result = run_sealroom("recover", "--json", data_dir=data_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    (recovered,) = json.loads(result.stdout)["recovered"]
    assert recovered["outcome"] == "interrupted"
    verified = run_sealroom("verify", recorded_session.session_id, data_dir=data_dir)
    assert verified.returncode == 0, verified.stdout
