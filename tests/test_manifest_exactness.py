"""A manifest is accepted only as the exact bytes the chain implies, by both verifiers.

Each case is an insider with the device key (or a faulty writer): the manifest of a sealed
session is edited in a way a lenient reader would quietly undo (whitespace trimmed, a default
filled in, a null dropped, text turned into a number), then re-signed with the genuine key.
`sealroom verify` on the data directory and the package's own verify.py, run as a separate
process on a package built by `sealroom export`, must both call it tampered and name the field.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_sealroom
from tests.evidence_builders import (
    Sessions,
    attacker_copy,
    canonical,
    record_pristine,
    segment_media,
)
from tests.test_export_package import run_verify

Edit = Callable[[dict[str, Any]], object]


@dataclass(frozen=True)
class Sealed:
    sessions: Sessions  # ``other`` is the exported session: it has no unit
    package: Path


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Sealed:
    base = tmp_path_factory.mktemp("exactness")
    sessions = record_pristine(base / "data", segment_media(tmp_path_factory))
    package = base / "package"
    result = run_sealroom(
        "export", sessions.other, "--out", str(package), data_dir=sessions.data.root
    )
    assert result.returncode == 0, result.stderr
    return Sealed(sessions, package)


def reseal(session_dir: Path, sealed: Sealed, edit: Edit) -> None:
    """Edit manifest.json and sign it again with the device's own key."""
    manifest = session_dir / "manifest.json"
    document = json.loads(manifest.read_bytes())
    edit(document)
    body = canonical(document)
    manifest.write_bytes(body)
    (session_dir / "manifest.sig").write_bytes(sealed.sessions.data.signer().sign(body))


def writable_package(sealed: Sealed, destination: Path) -> Path:
    target = destination / "package"
    shutil.copytree(sealed.package, target)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return target


def assert_both_say_tampered(sealed: Sealed, tmp_path: Path, edit: Edit, field: str) -> None:
    copy = attacker_copy(sealed.sessions, tmp_path)
    reseal(copy.session_dir(copy.other), sealed, edit)
    result = run_sealroom("verify", copy.other, "--json", data_dir=copy.data.root)
    assert result.returncode == 1, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert (outcome["result"], outcome["location"]) == ("tampered", "manifest.json"), outcome
    assert field in outcome["reason"], outcome

    package = writable_package(sealed, tmp_path)
    reseal(package / "sessions" / copy.other, sealed, edit)
    standalone = run_verify(package)
    assert standalone.returncode == 1, standalone.stdout + standalone.stderr
    failure = standalone.stdout.split("RESULT: NOT INTACT", 1)[1]
    # verify.py names the field, or for a null its parent object (it reads null as absent).
    named = re.search(r"manifest field '([\w.]+)' does not match the chain", failure)
    assert "manifest.json" in failure and named and field.startswith(named.group(1)), failure


def test_the_untouched_package_and_session_verify(sealed: Sealed) -> None:
    assert run_verify(sealed.package).returncode == 0
    result = run_sealroom("verify", sealed.sessions.other, data_dir=sealed.sessions.data.root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_manifest_resealed_with_whitespace_around_a_name(sealed: Sealed, tmp_path: Path) -> None:
    def pad_room(manifest: dict[str, Any]) -> None:
        manifest["metadata"]["room"] += " "

    assert_both_say_tampered(sealed, tmp_path, pad_room, "metadata.room")


def test_a_manifest_resealed_without_a_field_that_has_a_default(
    sealed: Sealed, tmp_path: Path
) -> None:
    assert_both_say_tampered(
        sealed, tmp_path, lambda manifest: manifest["metadata"].pop("timezone"), "metadata.timezone"
    )


def test_a_manifest_resealed_with_an_absent_field_written_as_null(
    sealed: Sealed, tmp_path: Path
) -> None:
    def null_unit(manifest: dict[str, Any]) -> None:
        assert "unit" not in manifest["metadata"]
        manifest["metadata"]["unit"] = None

    assert_both_say_tampered(sealed, tmp_path, null_unit, "metadata.unit")


def test_a_manifest_resealed_with_a_number_written_as_text(sealed: Sealed, tmp_path: Path) -> None:
    def fps_as_text(manifest: dict[str, Any]) -> None:
        manifest["media"]["fps"] = str(manifest["media"]["fps"])

    assert_both_say_tampered(sealed, tmp_path, fps_as_text, "media.fps")
