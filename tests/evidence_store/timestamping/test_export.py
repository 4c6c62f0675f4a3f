"""Tokens travel in exports with the authority's root, and the package's own verify.py checks
them: with ``rfc3161-client`` it names every token and its time; without it, it says so and
does not pass; a token altered in the package is NOT INTACT; the root the package carries is
pinned with --expect-tsa, or flagged."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificates

from evidence_store import UsageError
from evidence_store.custody import CustodyLog
from evidence_store.export import ExportSpec, build_package
from evidence_store.session import SessionWriter
from evidence_store.timestamping import TokenVerifier
from tests.support.evidence import (
    MEDIA,
    METADATA,
    STOP_REASON,
    DataDir,
    new_data_dir,
    seal_next,
    segment_media,
)
from tests.support.exports import run_verify
from tests.support.tsa import TsaServer, send_stamps, stamper


@pytest.fixture
def stamped(tmp_path: Path, tsa: TsaServer, tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    """A data directory with one sealed session whose start and seal are stamped."""
    media = segment_media(tmp_path_factory)
    data = new_data_dir(tmp_path / "data")
    stamps = stamper(data.root / "outbox")
    writer = SessionWriter.start(
        data.store(), data.signer(), METADATA, MEDIA, on_head=stamps.on_head
    )
    seal_next(writer, media[0])
    seal_next(writer, media[1])
    writer.stop(STOP_REASON)
    assert send_stamps(data.store(), data.root / "outbox", tsa) == 2
    return data


def export(data: DataDir, out: Path, tsa: TokenVerifier | None) -> Path:
    store, signer = data.store(), data.signer()
    [session_id] = [p.name for p in (data.evidence / "sessions").iterdir()]
    custody = CustodyLog.open(f"sqlite:///{data.root / 'custody.db'}", store, signer)
    return build_package(
        store,
        ExportSpec(session_id),
        data.trust(),
        out,
        custody=custody.entries(session_id=session_id),
        exported_by="test",
        signer=signer,
        tsa=tsa,
    ).path


def run_with_rfc3161(package: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """verify.py on this environment's Python, which has rfc3161-client."""
    return subprocess.run(
        [sys.executable, "-I", "verify.py", "--lang", "en", *args],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_package_carries_tokens_and_root_and_verify_py_checks_them(
    stamped: DataDir, tsa: TsaServer, tmp_path: Path
) -> None:
    package = export(stamped, tmp_path / "package", TokenVerifier.from_file(tsa.ca_file))
    assert (package / "tsa-ca.pem").read_bytes() == tsa.ca_file.read_bytes()
    checked = run_with_rfc3161(package)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 token(s), each checked against the authority's root" in checked.stdout
    assert "chain/000000.json  stamped" in checked.stdout
    assert "manifest.json  stamped" in checked.stdout
    assert "RESULT: INTACT" in checked.stdout


def test_without_rfc3161_client_verify_py_says_so_rather_than_passing(
    stamped: DataDir, tsa: TsaServer, tmp_path: Path
) -> None:
    package = export(stamped, tmp_path / "package", TokenVerifier.from_file(tsa.ca_file))
    plain = run_verify(package)  # Debian's Python: cryptography, no rfc3161-client
    assert plain.returncode == 2, plain.stdout + plain.stderr
    assert "RESULT: NOT CHECKED" in plain.stdout and "rfc3161-client" in plain.stdout
    assert "RESULT: INTACT" not in plain.stdout
    skipped = run_verify(package, "--skip-time-stamps")
    assert skipped.returncode == 0, skipped.stdout
    assert "NOT checked (--skip-time-stamps)" in skipped.stdout


def test_an_altered_token_in_a_package_is_not_intact(
    stamped: DataDir, tsa: TsaServer, tmp_path: Path
) -> None:
    package = export(stamped, tmp_path / "package", TokenVerifier.from_file(tsa.ca_file))
    [token] = package.glob("sessions/*/manifest.tsr")
    token.chmod(0o644)
    token.write_bytes(next(package.glob("sessions/*/chain/000000.tsr")).read_bytes())
    checked = run_with_rfc3161(package)
    assert checked.returncode == 1, checked.stdout
    assert "RESULT: NOT INTACT" in checked.stdout
    assert "manifest.tsr" in checked.stdout


def test_a_stamped_session_is_not_exported_without_the_authoritys_root(
    stamped: DataDir, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="SEALROOM_TSA_CA"):
        export(stamped, tmp_path / "package", None)
    assert not (tmp_path / "package").exists()


def test_the_authoritys_root_the_package_carries_is_pinned_or_flagged(
    stamped: DataDir, tsa: TsaServer, tmp_path: Path
) -> None:
    package = export(stamped, tmp_path / "package", TokenVerifier.from_file(tsa.ca_file))
    [root] = load_pem_x509_certificates(tsa.ca_file.read_bytes())
    published = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest()
    unpinned = run_with_rfc3161(package)
    assert unpinned.returncode == 0, unpinned.stdout + unpinned.stderr
    assert "WARNING: the authority's root is the one the package carries" in unpinned.stdout
    assert (
        "checked against the authority's root the package"
        in unpinned.stdout.split("RESULT: INTACT")[1]
    )
    pinned = run_with_rfc3161(package, "--expect-tsa", published)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert "matches the fingerprint you gave (--expect-tsa)" in pinned.stdout
    assert "WARNING" not in pinned.stdout
    wrong = run_with_rfc3161(package, "--expect-tsa", "ab" * 32)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "  file:   tsa-ca.pem" in wrong.stdout and "--expect-tsa" in wrong.stdout
