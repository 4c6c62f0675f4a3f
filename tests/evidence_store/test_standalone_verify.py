"""``python -m evidence_store.verify SESSION_DIR`` in an environment that has nothing but the
standard library, ``cryptography`` and ``pydantic``, with the project on PYTHONPATH: the format
core verifies on its own."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import RecordedSession
from tests.support.paths import ROOT

# What `pip install cryptography pydantic` brings, and nothing else.
ALLOWED = [
    "cryptography",
    "cffi",
    "_cffi_backend",
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "annotated_types",
    "typing_inspection",
]


@pytest.fixture(scope="module")
def light_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the allowed distributions, linked from this environment."""
    site = tmp_path_factory.mktemp("light-site")
    for name in ALLOWED:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (site / source.name).symlink_to(source)
    return site


def run_light(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages at all; only the standard library and PYTHONPATH.
    env = {"PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "PATH": os.environ.get("PATH", "")}
    return subprocess.run(
        [sys.executable, "-S", "-m", "evidence_store.verify", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=site,
        check=False,
        timeout=120,
    )


def copy_session(recorded: RecordedSession, tmp_path: Path) -> tuple[Path, Path]:
    """The session folder copied on its own, and the data directory's trust root."""
    folder = tmp_path / recorded.session_id
    shutil.copytree(recorded.path, folder)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    [root] = sorted((recorded.data_dir / "trust").glob("*.pem"))
    return folder, root


def test_the_environment_really_lacks_the_rest(light_site: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-S", "-c", "import sqlalchemy"],
        env={"PYTHONPATH": f"{light_site}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0 and "No module named 'sqlalchemy'" in probe.stderr


def test_an_intact_session_verifies_and_the_root_used_is_printed(
    light_site: Path, recorded_session: RecordedSession, tmp_path: Path
) -> None:
    folder, root = copy_session(recorded_session, tmp_path)
    result = run_light(light_site, str(folder), "--trust", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{recorded_session.session_id}: INTACT" in result.stdout
    assert "trusted root: CN=sealroom local root" in result.stdout
    as_json = run_light(light_site, str(folder), "--trust", str(root), "--json")
    outcome = json.loads(as_json.stdout)
    assert outcome["intact"] is True and outcome["session_id"] == recorded_session.session_id


def test_a_flipped_byte_is_exit_1_with_the_first_failure(
    light_site: Path, recorded_session: RecordedSession, tmp_path: Path
) -> None:
    folder, root = copy_session(recorded_session, tmp_path)
    segment = folder / "segments" / "000001.mp4"
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    result = run_light(light_site, str(folder), "--trust", str(root), "--json")
    assert result.returncode == 1, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["intact"] is False and outcome["location"] == "segments/000001.mp4"


def test_a_key_that_no_given_root_anchors_is_exit_1(
    light_site: Path, recorded_session: RecordedSession, tmp_path: Path
) -> None:
    folder, _root = copy_session(recorded_session, tmp_path)
    empty = tmp_path / "empty-trust"
    empty.mkdir()
    result = run_light(light_site, str(folder), "--trust", str(empty))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "UNTRUSTED" in result.stdout.upper() and "does not chain" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["/nonexistent/s-20260101T000000Z-00000000"],
        ["{not_a_session}"],
        ["{session}"],
        ["{session}", "--trust", "/nonexistent/root.pem"],
    ],
    ids=["no-arguments", "missing-folder", "not-a-session", "no-trust-root", "missing-root"],
)
def test_usage_errors_are_exit_2(
    args: list[str], light_site: Path, recorded_session: RecordedSession, tmp_path: Path
) -> None:
    folder, _root = copy_session(recorded_session, tmp_path)
    other = tmp_path / "holiday-photos"
    other.mkdir()
    filled = [a.format(not_a_session=other, session=folder) for a in args]
    result = run_light(light_site, *filled)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip()


def test_verification_writes_nothing(
    light_site: Path, recorded_session: RecordedSession, tmp_path: Path
) -> None:
    folder, root = copy_session(recorded_session, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert run_light(light_site, str(folder), "--trust", str(root)).returncode == 0
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert after == before
