"""A link or a manifest is read only from the exact bytes the format writes.

``Link.parse`` and ``Manifest.parse`` refuse what they would have to alter to read, and a
manifest is accepted only as the exact bytes the chain implies, by both verifiers.

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

from evidence_store.canonical import canonical_json
from evidence_store.errors import TamperedError
from evidence_store.model import (
    GENESIS_PREV,
    Event,
    EventType,
    Link,
    SessionMetadata,
    SignerInfo,
)
from tests.support.cli import run_sealroom
from tests.support.console import MEDIA
from tests.support.evidence import (
    Sessions,
    attacker_copy,
    canonical,
    record_pristine,
    segment_media,
)
from tests.support.exports import run_verify

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


# -- the one reader -----------------------------------------------------------------------------

FIRST_LINK = Link(
    session="s-20261122T235911Z-1a2b3c4d",
    seq=0,
    prev=GENESIS_PREV,
    time="2026-11-22T23:59:11.123456Z",
    kind="event",
    event=Event(
        type=EventType.SESSION_STARTED,
        metadata=SessionMetadata(case_number="VKS-1/2026", room="Phòng 1"),
        media=MEDIA,
        signer=SignerInfo(algorithm="ed25519", public_key_sha256="0" * 64),
    ),
)
READ_ALTERATIONS: dict[str, tuple[Edit, str]] = {
    "whitespace around a name": (
        lambda link: link["event"]["metadata"].update(room="Phòng 1 "),
        "field 'event.metadata.room' is not in its exact form: 'Phòng 1 ' where the format "
        "writes 'Phòng 1'",
    ),
    "a field with a default left out": (
        lambda link: link.pop("v"),
        "field 'v' is left out (every field with a value is written, defaults too)",
    ),
    "an absent field written as null": (
        lambda link: link["event"].update(reason=None),
        "field 'event.reason' is null (a field without a value is left out, never null)",
    ),
    "a number written as text": (
        lambda link: link["event"]["media"].update(fps="15"),
        "event.media.fps: Input should be a valid integer",
    ),
}


def test_a_link_reads_back_exactly_as_it_was_written() -> None:
    body = canonical_json(FIRST_LINK.to_document())
    assert Link.parse(body, location="chain/000000.json") == FIRST_LINK


@pytest.mark.parametrize("alteration", list(READ_ALTERATIONS))
def test_a_link_that_reads_only_by_being_altered_is_refused(alteration: str) -> None:
    edit, reason = READ_ALTERATIONS[alteration]
    document = FIRST_LINK.to_document()
    edit(document)
    with pytest.raises(TamperedError) as refused:
        Link.parse(canonical_json(document), location="chain/000000.json")
    assert refused.value.location == "chain/000000.json"
    assert refused.value.reason == f"malformed link: {reason}"
