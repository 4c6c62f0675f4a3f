"""The witness's own key: Ed25519, in its data directory (0600), created on first start.

``witness.key``   the private key (0600); never leaves the witness
``witness.pem``   its public key: what verifiers and appliances trust
``witness.crt``   a self-signed certificate of the key, for those who keep certificates

Tree heads and session views are signed with it (``evidence_store.receipts``), and name it by
its key id, the SHA-256 of the public key (DER).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from evidence_store import (
    PRIVATE,
    READ_ONLY,
    UsageError,
    issue_certificate,
    key_id,
    public_key_pem,
    replace_atomically,
    write_once,
)

KEY_FILE = "witness.key"
PUBLIC_FILE = "witness.pem"
CERTIFICATE_FILE = "witness.crt"
CERTIFICATE_DAYS = 365 * 30


@dataclass(frozen=True)
class WitnessIdentity:
    private_key: ed25519.Ed25519PrivateKey

    @property
    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    @classmethod
    def load_or_create(cls, data_dir: Path, *, name: str) -> WitnessIdentity:
        """The witness's key; on first use a new one, with its public key and certificate."""
        key_file = data_dir / KEY_FILE
        if key_file.exists():
            try:
                key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            except (OSError, ValueError, TypeError) as exc:
                raise UsageError(f"cannot load the witness key {key_file}: {exc}") from exc
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise UsageError(f"{key_file}: the witness key must be Ed25519")
            return cls(key)
        data_dir.mkdir(parents=True, exist_ok=True)
        key = ed25519.Ed25519PrivateKey.generate()
        certificate = issue_certificate(
            subject=f"sealroom witness {name}",
            public_key=key.public_key(),
            issuer_key=key,
            issuer_name=None,
            ca=False,
            days=CERTIFICATE_DAYS,
        )
        # Replaced, not written once: without the key file, these are a half-made identity's.
        replace_atomically(data_dir / PUBLIC_FILE, public_key_pem(key.public_key()), mode=READ_ONLY)
        replace_atomically(
            data_dir / CERTIFICATE_FILE,
            certificate.public_bytes(serialization.Encoding.PEM),
            mode=READ_ONLY,
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_once(key_file, pem, mode=PRIVATE)  # last, whole or absent: a half-made one is redone
        return cls(key)
