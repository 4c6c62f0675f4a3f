"""The data directory is its owner's alone (the finding: recordings, console.db with its
password hashes, custody.db and export zips were readable by every local user): created
0700/0600/0400, group-readable only where configured, tightened at start with a warning, and
checked (and fixed) by ``sealroom doctor``."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from evidence_store.installation import DataDir, Severity, examine
from evidence_store.settings import EvidenceSettings
from tests.support.cli import SMALL, sealroom_here
from tests.support.console import record_session


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def open_to_others(root: Path, group_may_read: bool = False) -> list[str]:
    allowed = 0o050 if group_may_read else 0
    return [p for p, mode in modes(root).items() if mode & 0o077 & ~allowed]


def test_an_installation_is_created_for_its_owner_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    recorded = sealroom_here(
        "record", "--synthetic", "--room", "P1", "--case", "VKS-1/2026", "--duration", "1",
        *SMALL, "--data-dir", str(data),
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    from web.app import create_app  # the console's files too: console.db, its secret

    create_app(DataDir.resolve(data))
    found = modes(data)
    assert {"custody.db", "console.db", "console-secret", "keys/device.key"} <= found.keys()
    assert open_to_others(data) == []
    assert found["."] == 0o700 and found["console.db"] == 0o600
    sealed = [m for p, m in found.items() if p.endswith("segments/000000.mp4")]
    assert sealed == [0o400]
    assert examine(DataDir.resolve(data)).problems == []


def test_group_readable_where_configured(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data", EvidenceSettings(group_readable=True))
    data.secure()
    record_session(data, "hanoi", "VKS-2/2026", b"\x00" * 1024)
    found = modes(data.root)
    assert found["."] == 0o750
    assert all(m & 0o007 == 0 and m & 0o020 == 0 for m in found.values())
    sealed = [m for p, m in found.items() if p.endswith("segments/000000.mp4")]
    assert sealed == [0o440]
    assert examine(data).problems == []


def loosen(root: Path) -> None:
    """An installation made before the rule: everything readable by everyone."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_an_open_installation_is_tightened_at_start_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = DataDir.resolve(tmp_path / "data")
    data.secure()
    record_session(data, "hanoi", "VKS-3/2026", b"\x00" * 1024)
    loosen(data.root)
    with caplog.at_level(logging.WARNING, logger="sealroom.installation"):
        changed = DataDir.resolve(tmp_path / "data").secure()
    assert changed and open_to_others(data.root) == []
    assert "was readable by other local users" in caplog.text


def test_sealroom_doctor_reports_and_fixes(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data")
    data.secure()
    record_session(data, "hanoi", "VKS-4/2026", b"\x00" * 1024)
    loosen(data.root)
    # A closed top directory hides nothing from the check: it looks inside.
    data.root.chmod(0o700)
    report = sealroom_here("doctor", "--json", "--data-dir", str(data.root))
    assert report.returncode == 1
    document = json.loads(report.stdout)
    assert document["serious"] is True
    # The doctor's other checks (clock, witness, ...) speak too; this test is about permissions.
    (problem,) = [p for p in document["problems"] if p["check"] == "permissions"]
    assert problem["severity"] == Severity.SERIOUS
    assert problem["fixable"] and any(p.endswith("keys/device.key") for p in problem["paths"])
    assert open_to_others(data.root)  # looking changed nothing
    fixed = sealroom_here("doctor", "--fix", "--data-dir", str(data.root))
    assert fixed.returncode == 0, fixed.stdout
    assert "fixed: tightened" in fixed.stdout and ": permissions:" not in fixed.stdout
    assert open_to_others(data.root) == []
    again = sealroom_here("doctor", "--json", "--data-dir", str(data.root))
    problems = json.loads(again.stdout)["problems"]
    assert again.returncode == 0 and [p for p in problems if p["check"] == "permissions"] == []


def test_group_access_when_not_configured_is_a_problem_too(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data")
    data.secure()
    (data.root / "notes.txt").write_text("x", encoding="utf-8")
    (data.root / "notes.txt").chmod(0o640)
    (problem,) = examine(data).problems
    assert problem.severity is Severity.SERIOUS and problem.paths[0].endswith("notes.txt")
    relaxed = DataDir.resolve(data.root, EvidenceSettings(group_readable=True))
    assert examine(relaxed).problems == []
