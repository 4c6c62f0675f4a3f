"""`sealroom verify` reads evidence and writes nothing but a custody event (a row and its
checkpoint); a session partly there is tampered, not unknown. Run as a user runs it: the real
command, in a new process."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tests.support.cli import RecordedSession, run_sealroom

CUSTODY_DB = "custody.db"
CHECKPOINTS = "evidence/custody/checkpoints/"  # the custody log's anchors in the store


def files_and_folders(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its SHA-256, and every folder: what is there, byte for
    byte."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        found[name] = "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def writable_copy(session: RecordedSession, destination: Path) -> Path:
    data_dir = destination / "data"
    shutil.copytree(session.data_dir, data_dir)
    for path in data_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return data_dir


def without_custody(found: dict[str, str]) -> dict[str, str]:
    """All but the custody log: its database and the checkpoints that anchor its rows."""
    return {
        name: digest
        for name, digest in found.items()
        if not name.startswith((CUSTODY_DB, CHECKPOINTS))
    }


def test_verifying_changes_no_byte_of_the_data_dir_but_the_custody_database(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    before = files_and_folders(data_dir)
    result = run_sealroom("verify", recorded_session.session_id, data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    after = files_and_folders(data_dir)
    assert without_custody(after) == without_custody(before)
    assert after[CUSTODY_DB] != before[CUSTODY_DB]  # the verification is recorded...
    anchors = sorted(set(after) - set(before))
    assert anchors and all(name.startswith(CHECKPOINTS) for name in anchors)  # ...and anchored


def test_verifying_without_a_device_key_makes_no_key_and_keeps_the_trust_root(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    # A data directory with trust/ but no keys/: verifying once made a new device key and a
    # new local root in trust/, replacing the root the session chains to.
    data_dir = writable_copy(recorded_session, tmp_path)
    shutil.rmtree(data_dir / "keys")
    (data_dir / CUSTODY_DB).unlink()
    before = files_and_folders(data_dir)
    result = run_sealroom("verify", recorded_session.session_id, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["intact"]
    assert files_and_folders(data_dir) == before  # no key, no root, no database, no folder
    assert "not recorded in a custody log" in result.stderr
    again = run_sealroom("verify", recorded_session.session_id, data_dir=data_dir)
    assert again.returncode == 0 and files_and_folders(data_dir) == before


def test_reading_the_custody_log_without_a_device_key_makes_none(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    shutil.rmtree(data_dir / "keys")
    before = files_and_folders(data_dir)
    for command in (["custody", "verify"], ["custody", "log"]):
        result = run_sealroom(*command, data_dir=data_dir)
        assert result.returncode == 2 and "has no device key" in result.stderr
    assert without_custody(files_and_folders(data_dir)) == without_custody(before)
    assert not (data_dir / "keys").exists()


def test_a_session_missing_its_first_link_is_tampered_not_unknown(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    session = data_dir / "evidence" / "sessions" / recorded_session.session_id
    for name in ("chain/000000.json", "chain/000000.sig", "manifest.json", "manifest.sig"):
        (session / name).unlink()
    result = run_sealroom("verify", recorded_session.session_id, "--json", data_dir=data_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert (outcome["result"], outcome["location"]) == ("tampered", "chain/000000.json")
    assert "first link is gone" in outcome["reason"]


def test_a_session_of_which_nothing_is_stored_is_unknown(
    recorded_session: RecordedSession, tmp_path: Path
) -> None:
    data_dir = writable_copy(recorded_session, tmp_path)
    shutil.rmtree(data_dir / "evidence" / "sessions" / recorded_session.session_id)
    result = run_sealroom("verify", recorded_session.session_id, data_dir=data_dir)
    assert result.returncode == 2 and "unknown session" in result.stderr
