"""Who sealed a session: the signer's files read from the store, and checked against what
the chain or the manifest says was used and against the trust roots. Shared by the full
verifier and the clip verifier, so both apply the same rules in the same words."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from evidence_store import layout
from evidence_store.errors import Reason, TamperedError
from evidence_store.model import SignerInfo
from evidence_store.signing import PublicKey, TrustStore, load_certificates, public_key_der


def signer_certificates(
    read: Callable[[str], bytes], present: Callable[[str], bool]
) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
    """The device certificate (if the session has one) and its intermediates; ``read`` and
    ``present`` take a path relative to the session."""
    certificate = None
    intermediates: list[x509.Certificate] = []
    if present(layout.CERTIFICATE):
        certs = load_certificates(read(layout.CERTIFICATE), location=layout.CERTIFICATE)
        if len(certs) != 1:
            raise TamperedError(
                Reason("expected_exactly_one_certificate", "expected exactly one certificate"),
                location=layout.CERTIFICATE,
            )
        certificate = certs[0]
    if present(layout.CERT_CHAIN):
        intermediates = load_certificates(read(layout.CERT_CHAIN), location=layout.CERT_CHAIN)
    return certificate, intermediates


def check_signer(
    claimed: SignerInfo,
    public_key: PublicKey,
    certificate: x509.Certificate | None,
    intermediates: list[x509.Certificate],
    trust: TrustStore,
    at: datetime,
) -> str:
    """The stored key and certificate are the ones ``claimed`` names, and chain to a trust
    root at ``at`` (the session's start). Returns the signer's subject."""
    if hashlib.sha256(public_key_der(public_key)).hexdigest() != claimed.public_key_sha256:
        raise TamperedError(
            Reason("public_key_one_session", "public key is not the one the session started with"),
            location=layout.PUBLIC_KEY,
        )
    if certificate is not None:
        if certificate.fingerprint(hashes.SHA256()).hex() != claimed.certificate_sha256:
            raise TamperedError(
                Reason(
                    "certificate_one_session_started",
                    "certificate is not the one the session started with",
                ),
                location=layout.CERTIFICATE,
            )
    elif claimed.certificate_sha256 is not None:
        raise TamperedError(
            Reason(
                "session_started_certificate_now",
                "the session started with a certificate that is now missing",
            ),
            location=layout.CERTIFICATE,
        )
    return trust.check(
        public_key=public_key,
        certificate=certificate,
        intermediates=intermediates,
        at=at,
        location=layout.CERTIFICATE if certificate else layout.PUBLIC_KEY,
    )
