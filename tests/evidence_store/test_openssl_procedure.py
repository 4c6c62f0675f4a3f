"""Section 9 of docs/evidence-format.md, run as written with openssl and sha256sum.

The procedure is read from the document itself at test time, split at its numbered steps and
run with bash in the session's directory, with ``$ROOT`` naming the local trust root. If the
document changes, these tests run the new text.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from tests.support.hand_procedure import HandCheck, Step, procedure_steps

PEM = serialization.Encoding.PEM


def run_procedure(session: Path, root_pem: Path) -> HandCheck:
    """Run every step in the session's directory, as the document tells a person to."""
    results: dict[int, Step] = {}
    for number, script in procedure_steps().items():
        if number == 0:
            continue
        if number == 1 and not (session / "signer" / "chain.pem").exists():
            # The document's own instruction: "or without -untrusted if there is no chain.pem".
            script = script.replace(" -untrusted signer/chain.pem", "")
        completed = subprocess.run(
            ["bash", "-c", script],
            cwd=session,
            env={**os.environ, "ROOT": str(root_pem)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        results[number] = Step(completed.returncode, completed.stdout + completed.stderr)
    return HandCheck(results)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Sessions:
    return record_pristine(tmp_path_factory.mktemp("pristine"), segment_media(tmp_path_factory))


@pytest.fixture
def copy(pristine: Sessions, tmp_path: Path) -> Sessions:
    return attacker_copy(pristine, tmp_path)


def hand_check(sessions: Sessions) -> HandCheck:
    return run_procedure(sessions.session_dir(), sessions.data.root_certificate())


def test_every_step_passes_on_a_pristine_session(copy: Sessions) -> None:
    check = hand_check(copy)
    assert check.failures() == set(), check.steps
    assert "CN = phong-hoi-cung-1" in check.steps[1].out
    assert f'"length":{CHAIN_LENGTH}' in check.steps[5].out


def test_a_flipped_segment_byte_fails_sha256sum(copy: Sessions) -> None:
    flip_byte(segment_file(copy.session_dir(), 1))
    check = hand_check(copy)
    assert check.failures() == {"checksums_ok"}
    assert "segments/000001.mp4: FAILED" in check.steps[3].out


def test_an_edited_manifest_fails_its_signature(copy: Sessions) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["metadata"]["case_number"] = "VKS-999/2026/HS-ĐT"

    edit_json(copy.session_dir() / "manifest.json", edit)
    check = hand_check(copy)
    assert check.failures() == {"signatures_ok"}
    assert check.steps[2].count("Signature Verification Failure") == 1


def test_a_rolled_back_chain_differs_in_head_and_length(copy: Sessions) -> None:
    session = copy.session_dir()
    for seq in range(LINK_SEG2, CHAIN_LENGTH):
        remove_link(session, seq)
    for index in (2, 3):
        segment_file(session, index).unlink()
    check = hand_check(copy)
    assert {"head_matches", "length_matches"} <= check.failures()
    assert check.links_signed and check.chain_unbroken


def test_a_removed_pause_link_breaks_the_chain(copy: Sessions) -> None:
    session = copy.session_dir()
    remove_link(session, LINK_PAUSE)
    check = hand_check(copy)
    assert "BROKEN CHAIN at chain/000004.json" in check.steps[5].out
    assert {"chain_unbroken", "length_matches"} <= check.failures()


def test_an_intermediate_ca_is_checked_with_chain_pem(
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
    assert check.failures() == set(), check.steps


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
    session = data.session_dir(session_id)
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(PEM))
    check = run_procedure(session, root_pem)
    assert check.failures() == set(), check.steps
    # The document's ECDSA alternative for step 2 works too.
    alternative = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "signer/public_key.pem",
         "-signature", "manifest.sig", "manifest.json"],
        cwd=session, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert alternative.returncode == 0 and "Verified OK" in alternative.stdout


def test_step_1_accepts_a_certificate_that_expired_after_the_session(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Evidence is checked years after it was recorded. The verifier asks whether the device
    # certificate was valid when the session started (section 8, step 3); a hand check of
    # genuine evidence must not fail because the certificate has expired since.
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
    assert check.failures() == set(), check.steps[1].out
