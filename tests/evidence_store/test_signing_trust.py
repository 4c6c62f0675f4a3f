"""Who signed: X.509 paths, validity, CA constraints, pinned keys, and ECDSA P-256 devices.

Each test records a short real session with the signer under test and verifies it against
trust roots chosen by the verifier, never taken from the session.
"""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from evidence_store.errors import TamperedError, UntrustedSignerError
from evidence_store.signing import (
    DeviceSigner,
    PrivateKey,
    TrustStore,
    ensure_device_identity,
    issue_certificate,
    public_key_pem,
)
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from tests.support.evidence import (
    CHAIN_LENGTH,
    SEGMENTS,
    link_path,
    new_data_dir,
    record_session,
    segment_media,
    sig_path,
)

PEM = serialization.Encoding.PEM


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return segment_media(tmp_path_factory)


@pytest.fixture
def store(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore.open(tmp_path / "evidence", create=True)


@dataclass(frozen=True)
class Authority:
    """A CA of the organisation: its key and certificate."""

    key: PrivateKey
    certificate: x509.Certificate

    def issue(
        self,
        subject: str,
        public_key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey,
        *,
        ca: bool = False,
        days: int = 365,
        not_before: datetime | None = None,
    ) -> x509.Certificate:
        return issue_certificate(
            subject=subject,
            public_key=public_key,
            issuer_key=self.key,
            issuer_name=self.certificate.subject,
            ca=ca,
            days=days,
            not_before=not_before,
        )


def new_root(subject: str = "Cơ quan chứng thực — Viện kiểm sát") -> Authority:
    key = ed25519.Ed25519PrivateKey.generate()
    certificate = issue_certificate(
        subject=subject,
        public_key=key.public_key(),
        issuer_key=key,
        issuer_name=None,
        ca=True,
        days=3650,
    )
    return Authority(key, certificate)


def trusting(*roots: Authority) -> TrustStore:
    return TrustStore(roots=tuple(r.certificate for r in roots))


def record(store: FilesystemStore, signer: DeviceSigner, media: list[Path]) -> str:
    return record_session(store, signer, media[:SEGMENTS])


def test_a_device_certificate_from_the_local_root_verifies(
    tmp_path: Path, media: list[Path]
) -> None:
    data = new_data_dir(tmp_path / "data")
    session_id = record(data.store(), data.signer(), media)
    result = verify_session(data.store(), session_id, data.trust())
    assert result.signer == "CN=phong-hoi-cung-1,O=sealroom"
    assert result.chain_length == CHAIN_LENGTH
    assert not data.session_dir(session_id).joinpath("signer", "chain.pem").exists()


def test_a_root_intermediate_device_chain_verifies_with_chain_pem(
    store: FilesystemStore, media: list[Path]
) -> None:
    root = new_root()
    intermediate_key = ed25519.Ed25519PrivateKey.generate()
    intermediate = Authority(
        intermediate_key,
        root.issue("CA cấp 2 — Công an tỉnh", intermediate_key.public_key(), ca=True),
    )
    device_key = ed25519.Ed25519PrivateKey.generate()
    device = intermediate.issue("phòng hỏi cung 3", device_key.public_key())
    signer = DeviceSigner(device_key, device, (intermediate.certificate,))
    session_id = record(store, signer, media)

    chain_pem = store.path(f"sessions/{session_id}/signer/chain.pem").read_bytes()
    assert x509.load_pem_x509_certificates(chain_pem) == [intermediate.certificate]
    result = verify_session(store, session_id, trusting(root))
    assert result.signer == "CN=phòng hỏi cung 3,O=sealroom"
    # The same session is untrusted under a root that did not issue the intermediate.
    with pytest.raises(UntrustedSignerError, match="does not chain to a trusted root") as caught:
        verify_session(store, session_id, trusting(new_root()))
    assert caught.value.location == "signer/certificate.pem"


@pytest.mark.parametrize(
    ("not_before", "days"),
    [
        pytest.param(datetime.now(UTC) - timedelta(days=30), 10, id="expired"),
        pytest.param(datetime.now(UTC) + timedelta(days=1), 10, id="not-yet-valid"),
    ],
)
def test_a_certificate_not_valid_at_the_session_start_is_untrusted(
    store: FilesystemStore, media: list[Path], not_before: datetime, days: int
) -> None:
    root = new_root()
    device_key = ed25519.Ed25519PrivateKey.generate()
    device = root.issue(
        "phòng hỏi cung 4", device_key.public_key(), not_before=not_before, days=days
    )
    session_id = record(store, DeviceSigner(device_key, device), media)
    with pytest.raises(UntrustedSignerError, match="was not valid at") as caught:
        verify_session(store, session_id, trusting(root))
    assert caught.value.location == "signer/certificate.pem"


def test_an_issuer_that_is_not_a_ca_is_refused(store: FilesystemStore, media: list[Path]) -> None:
    root = new_root()
    # A genuine device of the organisation tries to vouch for another key.
    leaf_key = ed25519.Ed25519PrivateKey.generate()
    leaf = Authority(leaf_key, root.issue("phòng hỏi cung 5", leaf_key.public_key()))
    device_key = ed25519.Ed25519PrivateKey.generate()
    device = leaf.issue("thiết bị giả", device_key.public_key())
    session_id = record(store, DeviceSigner(device_key, device, (leaf.certificate,)), media)
    with pytest.raises(UntrustedSignerError, match="is not a CA") as caught:
        verify_session(store, session_id, trusting(root))
    assert caught.value.location == "signer/certificate.pem"


def test_a_certificate_without_digital_signature_usage_is_refused(
    store: FilesystemStore, media: list[Path]
) -> None:
    root = new_root()
    device_key = ed25519.Ed25519PrivateKey.generate()
    # issue_certificate gives a CA certificate keyCertSign but not digitalSignature.
    device = root.issue("phòng hỏi cung 6", device_key.public_key(), ca=True)
    session_id = record(store, DeviceSigner(device_key, device), media)
    with pytest.raises(UntrustedSignerError, match="does not allow digital signatures") as caught:
        verify_session(store, session_id, trusting(root))
    assert caught.value.location == "signer/certificate.pem"


def test_a_pinned_public_key_without_certificate_verifies(
    tmp_path: Path, store: FilesystemStore, media: list[Path]
) -> None:
    device_key = ed25519.Ed25519PrivateKey.generate()
    session_id = record(store, DeviceSigner(device_key), media)
    trust_dir = tmp_path / "trust"
    trust_dir.mkdir()
    (trust_dir / "phong-7.pem").write_bytes(public_key_pem(device_key.public_key()))
    result = verify_session(store, session_id, TrustStore.from_paths([trust_dir]))
    assert result.signer.startswith("pinned public key sha256:")
    assert not store.exists(f"sessions/{session_id}/signer/certificate.pem")


def test_an_unpinned_public_key_without_certificate_is_refused(
    store: FilesystemStore, media: list[Path]
) -> None:
    session_id = record(store, DeviceSigner(ed25519.Ed25519PrivateKey.generate()), media)
    other_key = ed25519.Ed25519PrivateKey.generate()
    pinned_other = TrustStore(
        roots=(new_root().certificate,),
        pinned_keys=frozenset({_spki_sha256(other_key.public_key())}),
    )
    with pytest.raises(UntrustedSignerError, match="not among the trusted keys") as caught:
        verify_session(store, session_id, pinned_other)
    assert caught.value.location == "signer/public_key.pem"


def test_an_ecdsa_p256_device_key_works_end_to_end(
    tmp_path: Path, store: FilesystemStore, media: list[Path]
) -> None:
    root = new_root()
    device_key = ec.generate_private_key(ec.SECP256R1())
    key_file, cert_file = tmp_path / "device.key", tmp_path / "device.crt"
    key_file.write_bytes(
        device_key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(root.issue("phòng hỏi cung 8", device_key.public_key()).public_bytes(PEM))
    signer = DeviceSigner.load(key_file, cert_file=cert_file)
    session_id = record(store, signer, media)

    result = verify_session(store, session_id, trusting(root))
    assert result.algorithm == "ecdsa-p256-sha256"
    assert result.signer == "CN=phòng hỏi cung 8,O=sealroom"
    # Section 5: ECDSA signatures are DER-encoded, over SHA-256 of the exact bytes.
    session = store.path(f"sessions/{session_id}")
    r, s = decode_dss_signature(sig_path(session, 0).read_bytes())
    assert r > 0 and s > 0
    # And a flipped byte is still caught under ECDSA.
    link = link_path(session, 1)
    link.chmod(0o644)
    data = bytearray(link.read_bytes())
    data[10] ^= 0x01
    link.write_bytes(bytes(data))
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        verify_session(store, session_id, trusting(root))
    assert caught.value.location == "chain/000001.json"


def _spki_sha256(key: ed25519.Ed25519PublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def test_a_new_device_key_is_private_whole_and_kept(tmp_path: Path) -> None:
    keys, trust = tmp_path / "keys", tmp_path / "trust"
    made = ensure_device_identity(keys, trust, device_name="phòng 9")
    kept = ensure_device_identity(keys, trust, device_name="phòng 9")
    assert public_key_pem(kept.public_key) == public_key_pem(made.public_key)
    assert stat.S_IMODE((keys / "device.key").stat().st_mode) == 0o600
    assert sorted(p.name for p in keys.iterdir()) == ["device.crt", "device.key"]
