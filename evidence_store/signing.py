"""The room device's signing key, its X.509 identity, and the trust roots that anchor it.

Ed25519 is the default. ECDSA P-256 keys (as issued by many organisational CAs and hardware
tokens) are accepted too. A signature is always over the exact bytes of a stored object, so
``openssl pkeyutl -verify -rawin`` (Ed25519) or ``openssl dgst -sha256 -verify`` (ECDSA) can
check it with nothing but the object and the public key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from evidence_store.durable import PRIVATE, write_once
from evidence_store.errors import Reason, SigningError, TamperedError, UntrustedSignerError
from evidence_store.model import SignerInfo

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

DEVICE_KEY = "device.key"
DEVICE_CERT = "device.crt"
DEVICE_CHAIN = "chain.pem"
MAX_CHAIN_DEPTH = 6
_Ext = TypeVar("_Ext", bound=x509.ExtensionType)


def public_key_der(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_pem(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def algorithm_of(key: PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key.curve, ec.SECP256R1):
        return "ecdsa-p256-sha256"
    raise SigningError(f"unsupported key type {type(key).__name__}; use Ed25519 or ECDSA P-256")


def verify_signature(key: PublicKey, signature: bytes, message: bytes, *, location: str) -> None:
    """Raise TamperedError unless ``signature`` is ``key``'s signature over ``message``."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise TamperedError(
            Reason(
                "signature_does_verify_signed",
                "signature does not verify: the signed bytes were altered",
            ),
            location=location,
        ) from exc


def load_public_key(pem: bytes, *, location: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise TamperedError(
            Reason("pem_public_key", "not a PEM public key"), location=location
        ) from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise UntrustedSignerError(
        Reason(
            "unsupported_signing_key_type",
            "unsupported signing key type (expected Ed25519 or ECDSA P-256)",
        ),
        location=location,
    )


def load_certificates(pem: bytes, *, location: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TamperedError(
            Reason("unreadable_certificate_exc", "unreadable certificate ({exc})", exc=exc),
            location=location,
        ) from exc


@dataclass(frozen=True)
class DeviceSigner:
    """A private key with the certificates that vouch for it."""

    private_key: PrivateKey
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def public_key(self) -> PublicKey:
        key = self.private_key.public_key()
        assert isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey)
        return key

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return self.private_key.sign(message)
        return self.private_key.sign(message, ec.ECDSA(hashes.SHA256()))

    def info(self) -> SignerInfo:
        cert_digest = None
        if self.certificate is not None:
            cert_digest = self.certificate.fingerprint(hashes.SHA256()).hex()
        return SignerInfo(
            algorithm=algorithm_of(self.public_key),  # type: ignore[arg-type]
            public_key_sha256=hashlib.sha256(public_key_der(self.public_key)).hexdigest(),
            certificate_sha256=cert_digest,
        )

    def certificate_pem(self) -> bytes | None:
        if self.certificate is None:
            return None
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def chain_pem(self) -> bytes | None:
        if not self.chain:
            return None
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    @classmethod
    def load(
        cls, key_file: Path, *, cert_file: Path | None = None, chain_file: Path | None = None
    ) -> DeviceSigner:
        """Load a PEM private key, with its certificate and intermediates if given."""
        try:
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise SigningError(f"cannot load device key {key_file}: {exc}") from exc
        if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise SigningError(f"{key_file}: unsupported key type; use Ed25519 or ECDSA P-256")
        certificate = None
        chain: tuple[x509.Certificate, ...] = ()
        try:
            if cert_file is not None and cert_file.exists():
                certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
            if chain_file is not None and chain_file.exists():
                chain = tuple(x509.load_pem_x509_certificates(chain_file.read_bytes()))
        except (OSError, ValueError) as exc:
            raise SigningError(f"cannot load device certificate: {exc}") from exc
        signer = cls(key, certificate, chain)
        certified = certificate is not None and public_key_der(certificate.public_key())
        if certified and certified != public_key_der(signer.public_key):
            raise SigningError(f"{cert_file} does not certify the key in {key_file}")
        algorithm_of(signer.public_key)
        return signer


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealroom"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue_certificate(
    *,
    subject: str,
    public_key: PublicKey,
    issuer_key: PrivateKey,
    issuer_name: x509.Name | None,
    ca: bool,
    days: int,
    not_before: datetime | None = None,
) -> x509.Certificate:
    """Issue a certificate; self-signed when ``issuer_name`` is None. Used for the local CA."""
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    name = _name(subject)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


def existing_device_identity(keys_dir: Path) -> DeviceSigner | None:
    """The device key in ``keys_dir``, or None when there is none (nothing is created)."""
    key_file = keys_dir / DEVICE_KEY
    if not key_file.exists():
        return None
    return DeviceSigner.load(
        key_file, cert_file=keys_dir / DEVICE_CERT, chain_file=keys_dir / DEVICE_CHAIN
    )


def ensure_device_identity(keys_dir: Path, trust_dir: Path, *, device_name: str) -> DeviceSigner:
    """Load the device key, or on first use create one with a certificate from a local root.

    The local root's private key is thrown away once it has issued the device certificate, so
    nobody can later issue a second "device" under it. Production appliances use a key and
    certificate from the organisation's CA instead (see docs/operations.md).
    """
    existing = existing_device_identity(keys_dir)
    if existing is not None:
        return existing
    key_file = keys_dir / DEVICE_KEY
    keys_dir.mkdir(parents=True, exist_ok=True)
    trust_dir.mkdir(parents=True, exist_ok=True)
    device_key = ed25519.Ed25519PrivateKey.generate()
    root_key = ed25519.Ed25519PrivateKey.generate()
    root = issue_certificate(
        subject=f"sealroom local root for {device_name}",
        public_key=root_key.public_key(),
        issuer_key=root_key,
        issuer_name=None,
        ca=True,
        days=365 * 30,
    )
    device_cert = issue_certificate(
        subject=device_name,
        public_key=device_key.public_key(),
        issuer_key=root_key,
        issuer_name=root.subject,
        ca=False,
        days=365 * 20,
    )
    pem = serialization.Encoding.PEM
    (trust_dir / f"local-root-{device_name}.pem").write_bytes(root.public_bytes(pem))
    (keys_dir / DEVICE_CERT).write_bytes(device_cert.public_bytes(pem))
    # The key file last, whole or absent, 0600: a half-made identity is redone.
    key_pem = device_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_once(key_file, key_pem, mode=PRIVATE)
    return DeviceSigner(device_key, device_cert)


@dataclass(frozen=True)
class TrustStore:
    """Root certificates and pinned public keys that a signer must chain to."""

    roots: tuple[x509.Certificate, ...] = ()
    pinned_keys: frozenset[str] = field(default_factory=frozenset)  # SHA-256 of SPKI DER
    # The off-box witnesses whose signed tree heads are believed (evidence_store.receipts).
    witness_keys: tuple[PublicKey, ...] = ()

    @classmethod
    def from_paths(cls, paths: list[Path]) -> TrustStore:
        """Read every PEM file in ``paths`` (files or directories): certificates and keys."""
        roots: list[x509.Certificate] = []
        pinned: set[str] = set()
        files: list[Path] = []
        for path in paths:
            files.extend(sorted(path.glob("*.pem")) if path.is_dir() else [path])
        for file in files:
            data = file.read_bytes()
            if b"CERTIFICATE-----" in data:
                roots.extend(x509.load_pem_x509_certificates(data))
            elif b"PUBLIC KEY-----" in data:
                key = load_public_key(data, location=str(file))
                pinned.add(hashlib.sha256(public_key_der(key)).hexdigest())
        return cls(tuple(roots), frozenset(pinned))

    def with_witness_keys(self, paths: list[Path]) -> TrustStore:
        """This trust, plus the witness keys in ``paths``: PEM public keys or certificates,
        files or directories of ``*.pem``."""
        keys = list(self.witness_keys)
        for path in paths:
            for file in sorted(path.glob("*.pem")) if path.is_dir() else [path]:
                data = file.read_bytes()
                if b"CERTIFICATE-----" in data:
                    for certificate in load_certificates(data, location=str(file)):
                        found = certificate.public_key()
                        if isinstance(found, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
                            keys.append(found)
                else:
                    keys.append(load_public_key(data, location=str(file)))
        return replace(self, witness_keys=tuple(keys))

    def check(
        self,
        *,
        public_key: PublicKey,
        certificate: x509.Certificate | None,
        intermediates: list[x509.Certificate],
        at: datetime,
        location: str,
    ) -> str:
        """Raise UntrustedSignerError unless the key is anchored here; return who signed."""
        key_digest = hashlib.sha256(public_key_der(public_key)).hexdigest()
        if certificate is None:
            if key_digest in self.pinned_keys:
                return f"pinned public key sha256:{key_digest}"
            raise UntrustedSignerError(
                Reason(
                    "signing_key_certificate_among",
                    "the signing key has no certificate and is not among the trusted keys",
                ),
                location=location,
            )
        if public_key_der(certificate.public_key()) != public_key_der(public_key):
            raise TamperedError(
                Reason(
                    "certificate_does_match_signing", "certificate does not match the signing key"
                ),
                location=location,
            )
        self._check_path(certificate, intermediates, at=at, location=location)
        return certificate.subject.rfc4514_string()

    def _check_path(
        self,
        leaf: x509.Certificate,
        intermediates: list[x509.Certificate],
        *,
        at: datetime,
        location: str,
    ) -> None:
        usage = _extension(leaf, x509.KeyUsage)
        if usage is not None and not usage.digital_signature:
            raise UntrustedSignerError(
                Reason(
                    "certificate_does_allow_digital",
                    "certificate does not allow digital signatures",
                ),
                location=location,
            )
        current = leaf
        root_prints = {r.fingerprint(hashes.SHA256()) for r in self.roots}
        for _ in range(MAX_CHAIN_DEPTH):
            _check_validity(current, at, location)
            if current.fingerprint(hashes.SHA256()) in root_prints:
                return
            candidates = [c for c in [*self.roots, *intermediates] if c != current]
            issuer = _find_issuer(current, candidates)
            if issuer is None:
                raise UntrustedSignerError(
                    Reason(
                        "certificate_current_does_chain",
                        "certificate {current} does not chain to a trusted root",
                        current=repr(current.subject.rfc4514_string()),
                    ),
                    location=location,
                )
            constraints = _extension(issuer, x509.BasicConstraints)
            if constraints is None or not constraints.ca:
                raise UntrustedSignerError(
                    Reason(
                        "issuer_issuer_r_ca",
                        "issuer {issuer} is not a CA",
                        issuer=repr(issuer.subject.rfc4514_string()),
                    ),
                    location=location,
                )
            current = issuer
        raise UntrustedSignerError(
            Reason("certificate_chain_too_long", "certificate chain is too long"), location=location
        )


def _extension(cert: x509.Certificate, kind: type[_Ext]) -> _Ext | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_validity(cert: x509.Certificate, at: datetime, location: str) -> None:
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise UntrustedSignerError(
            Reason(
                "certificate_current_r_valid",
                "certificate {cert} was not valid at {at}",
                cert=repr(cert.subject.rfc4514_string()),
                at=at.isoformat(),
            ),
            location=location,
        )


def _find_issuer(
    cert: x509.Certificate, candidates: list[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None
