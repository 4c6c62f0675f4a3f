"""An export carries the session's witness receipts and the witness key, and its standalone
verify.py checks them with the rules of ``sealroom verify``: a package without receipts is
reported "not yet witnessed", one whose receipts are signed by a key not trusted fails."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from evidence_store import MediaInfo, SessionMetadata, SessionWriter, public_key_pem
from evidence_store.installation import DataDir
from evidence_store.settings import EvidenceSettings
from evidence_store.witnessing import WitnessLink
from tests.support.exports import run_verify
from tests.support.witness import InProcessCli, WitnessProcess

MEDIA = MediaInfo(width=160, height=120, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(case_number="VKS-8/2026", room="Phòng 1")


def record(data: DataDir, link: WitnessLink | None) -> str:
    hook = None if link is None else link.hook
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA, on_head=hook)
    for index in range(2):
        writer.inflight_path(index).write_bytes(os.urandom(6000))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    writer.stop("kết thúc")
    return writer.session_id


@pytest.fixture
def exported(
    witness_process: WitnessProcess, tmp_path: Path, sealroom_cli: InProcessCli
) -> tuple[Path, Path]:
    """(a package of a witnessed session, one of a session never witnessed)."""
    data = DataDir.resolve(tmp_path / "box", EvidenceSettings(witness_url=witness_process.url))
    data.store(create=True)
    link = WitnessLink.open(data)
    assert link is not None
    link.start()
    witnessed = record(data, link)
    assert link.flush(30) == 0
    link.stop()
    unwitnessed = record(data, None)
    packages = []
    for session_id in (witnessed, unwitnessed):
        out = tmp_path / f"package-{session_id}"
        done = sealroom_cli("export", session_id, "--out", str(out), "--data-dir", str(data.root))
        assert done.code == 0, done.stdout + done.stderr
        packages.append(out)
    return packages[0], packages[1]


def test_the_package_carries_the_receipts_and_verify_py_checks_them(
    exported: tuple[Path, Path], witness_process: WitnessProcess
) -> None:
    package, bare = exported
    assert list(package.glob("sessions/*/witness/manifest.json"))
    assert [p.read_bytes() for p in (package / "witness").glob("*.pem")] == [
        witness_process.key_file.read_bytes()
    ]
    checked = run_verify(package)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Witness:        4 of 4 links and the seal have receipts" in checked.stdout
    assert "(carried by the package, NOT pinned)" in checked.stdout
    assert "The witness's receipts are not part of this result" in checked.stdout
    pinned = run_verify(package, "--witness-key", str(witness_process.key_file))
    assert pinned.returncode == 0 and "(given (--witness-key))" in pinned.stdout
    published = hashlib.sha256(
        serialization.load_pem_public_key(witness_process.key_file.read_bytes()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()
    expected = run_verify(package, "--expect-witness", published)
    assert expected.returncode == 0, expected.stdout
    assert "matches --expect-witness" in expected.stdout and "WARNING" not in expected.stdout
    wrong = run_verify(package, "--expect-witness", "00" * 32)
    assert wrong.returncode == 1 and "not a trusted witness key" in wrong.stdout
    bare_checked = run_verify(bare)
    assert bare_checked.returncode == 0, bare_checked.stdout
    assert "NOT YET WITNESSED" in bare_checked.stdout


def test_receipts_signed_by_a_key_not_given_fail(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    package, _ = exported
    other = tmp_path / "other.pem"
    other.write_bytes(public_key_pem(ed25519.Ed25519PrivateKey.generate().public_key()))
    refused = run_verify(package, "--witness-key", str(other))
    assert refused.returncode == 1
    assert "not a trusted witness key" in refused.stdout
    assert "witness/000000.json" in refused.stdout
