"""Section 9 of docs/evidence-format.md: the hand procedure, a POSIX sh script using openssl
and sha256sum, run as a person runs it: with dash (a POSIX shell and nothing more), in the
session's directory, with ``ROOT`` naming the trust root.

The script run is the shipped one (evidence_store/export/assets/procedure.session.en.sh), and
a test keeps the document's text equal to it, so the document is what runs. Its verdicts on
every kind of tampering are held to those of the two programs by the conformance corpus
(tests/evidence_store/conformance/); here are the properties of the procedure itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from evidence_store.signing import DeviceSigner, TrustStore, issue_certificate
from evidence_store.verify import verify_session
from tests.support.evidence import (
    CHAIN_LENGTH,
    LINK_PAUSE,
    LINK_SEG2,
    SEGMENTS,
    Sessions,
    attacker_copy,
    edit_json,
    flip_byte,
    new_data_dir,
    record_pristine,
    record_session,
    remove_link,
    segment_file,
    segment_media,
)
from tests.support.hand_procedure import (
    ASSETS,
    PROCEDURE,
    HandResult,
    documented_procedure,
    run_procedure,
)

PEM = serialization.Encoding.PEM


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Sessions:
    return record_pristine(tmp_path_factory.mktemp("pristine"), segment_media(tmp_path_factory))


@pytest.fixture
def copy(pristine: Sessions, tmp_path: Path) -> Sessions:
    return attacker_copy(pristine, tmp_path)


def hand_check(sessions: Sessions, shell: str = "dash") -> HandResult:
    return run_procedure(sessions.session_dir(), sessions.data.root_certificate(), shell=shell)


def commands(script: str) -> list[str]:
    """A script without its comments: what it does, in any language."""
    lines = (re.sub(r" # .*$", "", line) for line in script.splitlines())
    return [line for line in lines if not line.lstrip().startswith("#")]


# -- the procedure itself -------------------------------------------------------------------


def test_the_document_prints_the_script_that_runs() -> None:
    assert documented_procedure() == PROCEDURE.read_text(encoding="utf-8")


def test_the_vietnamese_procedure_runs_the_same_commands() -> None:
    vietnamese = (ASSETS / "procedure.session.vi.sh").read_text(encoding="utf-8")
    english = PROCEDURE.read_text(encoding="utf-8")
    assert commands(vietnamese) == commands(english)
    assert vietnamese != english  # its comments are Vietnamese


def test_it_is_posix_sh_that_dash_reads() -> None:
    for script in (PROCEDURE, ASSETS / "procedure.session.vi.sh"):
        parsed = subprocess.run(["dash", "-n", str(script)], capture_output=True, text=True)
        assert parsed.returncode == 0, parsed.stderr
    text = PROCEDURE.read_text(encoding="utf-8")
    for bashism in ("<(", "[[", "local ", "function ", "source ", "pipefail"):
        assert bashism not in text


def test_a_pristine_session_is_intact_under_dash_and_bash(copy: Sessions) -> None:
    for shell in ("dash", "bash"):
        check = hand_check(copy, shell)
        assert check.intact, check.out
        assert f"Chain:    {CHAIN_LENGTH} links" in check.out
        assert f"{SEGMENTS} segments as sealed" in check.out


def test_it_prints_the_root_it_used_and_its_fingerprint(copy: Sessions) -> None:
    check = hand_check(copy)
    root = copy.data.root_certificate()
    printed = subprocess.run(
        ["openssl", "x509", "-in", str(root), "-noout", "-fingerprint", "-sha256"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert f"Trust root:  {root}" in check.out
    assert printed.split("=", 1)[1] in check.out


def test_without_a_root_it_cannot_run(copy: Sessions) -> None:
    done = subprocess.run(
        ["dash", str(PROCEDURE)], cwd=copy.session_dir(), capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin"}, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "set ROOT" in done.stderr


# -- what it catches, named as the programs name it -----------------------------------------


def test_a_flipped_segment_byte(copy: Sessions) -> None:
    flip_byte(segment_file(copy.session_dir(), 1))
    check = hand_check(copy)
    assert (check.returncode, check.file) == (1, "segments/000001.mp4")
    assert "does not match its sealed SHA-256" in (check.reason or "")


def test_an_edited_manifest(copy: Sessions) -> None:
    edit_json(
        copy.session_dir() / "manifest.json",
        lambda manifest: manifest["metadata"].update(case_number="VKS-999/2026/HS-ĐT"),
    )
    check = hand_check(copy)
    assert (check.returncode, check.file) == (1, "manifest.json")


def test_a_rolled_back_chain(copy: Sessions) -> None:
    session = copy.session_dir()
    for seq in range(LINK_SEG2, CHAIN_LENGTH):
        remove_link(session, seq)
    for index in (2, 3):
        segment_file(session, index).unlink()
    check = hand_check(copy)
    assert (check.returncode, check.file) == (1, "manifest.json")
    assert "head rolled back" in (check.reason or "")


def test_a_removed_pause_link(copy: Sessions) -> None:
    remove_link(copy.session_dir(), LINK_PAUSE)
    check = hand_check(copy)
    assert (check.returncode, check.file) == (1, "chain/000004.json")


def test_an_extra_file_at_any_depth_and_only_there(copy: Sessions) -> None:
    # The former procedure matched names at any depth: a copy of a genuine file under
    # another directory passed. Paths count whole.
    session = copy.session_dir()
    (session / "segments" / "chain").mkdir()
    shutil.copyfile(session / "chain" / "000000.json", session / "segments" / "chain" / "a.json")
    check = hand_check(copy)
    assert (check.returncode, check.file) == (1, "segments/chain/a.json")


# -- signers: intermediates, ECDSA, expired since ---------------------------------------------


def test_an_intermediate_ca_is_used_with_untrusted_only_when_there_is_one(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root_key, ca_key, device_key = (ed25519.Ed25519PrivateKey.generate() for _ in range(3))
    root = issue_certificate(
        subject="Gốc tin cậy", public_key=root_key.public_key(), issuer_key=root_key,
        issuer_name=None, ca=True, days=3650,
    )  # fmt: skip
    ca = issue_certificate(
        subject="CA cấp 2", public_key=ca_key.public_key(), issuer_key=root_key,
        issuer_name=root.subject, ca=True, days=3650,
    )  # fmt: skip
    device = issue_certificate(
        subject="phòng hỏi cung 3", public_key=device_key.public_key(), issuer_key=ca_key,
        issuer_name=ca.subject, ca=False, days=365,
    )  # fmt: skip
    data = new_data_dir(tmp_path / "data")
    signer = DeviceSigner(device_key, device, (ca,))
    session_id = record_session(data.store(), signer, segment_media(tmp_path_factory)[:SEGMENTS])
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(PEM))
    check = run_procedure(data.session_dir(session_id), root_pem)
    assert check.intact, check.out
    # Without intermediates there is no chain.pem: the pristine sessions above pass without it.
    assert (data.session_dir(session_id) / "signer" / "chain.pem").exists()


def test_an_ecdsa_session_passes_the_hand_check(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root_key = ed25519.Ed25519PrivateKey.generate()
    device_key = ec.generate_private_key(ec.SECP256R1())
    root = issue_certificate(
        subject="Gốc tin cậy", public_key=root_key.public_key(), issuer_key=root_key,
        issuer_name=None, ca=True, days=3650,
    )  # fmt: skip
    device = issue_certificate(
        subject="phòng hỏi cung 8", public_key=device_key.public_key(), issuer_key=root_key,
        issuer_name=root.subject, ca=False, days=365,
    )  # fmt: skip
    data = new_data_dir(tmp_path / "data")
    session_id = record_session(
        data.store(), DeviceSigner(device_key, device), segment_media(tmp_path_factory)[:SEGMENTS]
    )
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(PEM))
    check = run_procedure(data.session_dir(session_id), root_pem)
    assert check.intact, check.out
    assert "ecdsa-p256-sha256 key" in check.out


def test_a_certificate_that_expired_after_the_session_passes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Evidence is checked years after it was recorded. The question is whether the device
    # certificate was valid when the session started (section 8, step 3), not today.
    recorded_at = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    root_key, device_key = (
        ed25519.Ed25519PrivateKey.generate(),
        ed25519.Ed25519PrivateKey.generate(),
    )
    root = issue_certificate(
        subject="Gốc tin cậy", public_key=root_key.public_key(), issuer_key=root_key,
        issuer_name=None, ca=True, days=3650, not_before=recorded_at - timedelta(days=400),
    )  # fmt: skip
    device = issue_certificate(
        subject="phòng hỏi cung 9", public_key=device_key.public_key(), issuer_key=root_key,
        issuer_name=root.subject, ca=False, days=365, not_before=recorded_at - timedelta(days=30),
    )  # fmt: skip
    data = new_data_dir(tmp_path / "data")
    session_id = record_session(
        data.store(),
        DeviceSigner(device_key, device),
        segment_media(tmp_path_factory)[:SEGMENTS],
        clock=lambda: recorded_at,  # the device's clock, when it recorded
    )
    verify_session(data.store(), session_id, TrustStore(roots=(root,)))  # intact
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(PEM))
    check = run_procedure(data.session_dir(session_id), root_pem)
    assert check.intact, check.out


def test_a_certificate_not_yet_valid_when_the_session_began_fails(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root_key, device_key = (
        ed25519.Ed25519PrivateKey.generate(),
        ed25519.Ed25519PrivateKey.generate(),
    )
    root = issue_certificate(
        subject="Gốc tin cậy", public_key=root_key.public_key(), issuer_key=root_key,
        issuer_name=None, ca=True, days=3650,
        not_before=datetime.now(UTC) - timedelta(days=10),
    )  # fmt: skip
    device = issue_certificate(
        subject="phòng hỏi cung 9", public_key=device_key.public_key(), issuer_key=root_key,
        issuer_name=root.subject, ca=False, days=365,
        not_before=datetime.now(UTC) + timedelta(days=1),
    )  # fmt: skip
    data = new_data_dir(tmp_path / "data")
    session_id = record_session(
        data.store(), DeviceSigner(device_key, device), segment_media(tmp_path_factory)[:SEGMENTS]
    )
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(PEM))
    check = run_procedure(data.session_dir(session_id), root_pem)
    assert (check.returncode, check.file) == (1, "signer/certificate.pem")
