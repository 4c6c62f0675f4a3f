"""Checking RFC 3161 time-stamp tokens against the authority's root, with ``rfc3161-client``.

A token is good when the authority granted it, its signature chains (valid at the token's own
time) to a configured root through a certificate for time-stamping, and its message imprint
is the SHA-256 of the very file it stamps. The verifier is built once from the roots and
holds no other state, so any process can check tokens with it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from rfc3161_client import (
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from evidence_store.errors import Reason, TamperedError, UsageError
from evidence_store.signing import load_certificates

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")


class TokenVerifier:
    """Checks tokens against one authority's roots (``evidence_store.tokens.TokenCheck``)."""

    def __init__(
        self, roots: list[x509.Certificate], intermediates: list[x509.Certificate] | None = None
    ) -> None:
        if not roots:
            raise UsageError("a time-stamp authority's CA file needs its root certificate")
        self.roots = roots
        self.intermediates = intermediates or []
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        for intermediate in self.intermediates:
            builder = builder.add_intermediate_certificate(intermediate)
        self._verifier = builder.build()  # no nonce, no state: shared by every check

    @classmethod
    def from_pem(cls, pem: bytes, *, location: str) -> TokenVerifier:
        """Self-signed certificates of the PEM are roots; any others, intermediates."""
        certificates = load_certificates(pem, location=location)
        roots = [c for c in certificates if c.subject == c.issuer]
        return cls(roots, [c for c in certificates if c.subject != c.issuer])

    @classmethod
    def from_file(cls, path: Path) -> TokenVerifier:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read the time-stamp authority's CA {path}: {exc}") from exc
        try:
            return cls.from_pem(pem, location=str(path))
        except TamperedError as exc:
            raise UsageError(f"{path}: not a PEM certificate file ({exc.reason})") from exc

    def pem(self) -> bytes:
        """The roots, then the intermediates, as one PEM file (an export's ``tsa-ca.pem``)."""
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in [*self.roots, *self.intermediates]
        )

    def fingerprint(self) -> str:
        """The first root's SHA-256 fingerprint, as openssl prints it."""
        digest = self.roots[0].fingerprint(hashes.SHA256())
        return ":".join(f"{b:02X}" for b in digest)

    def response(self, data: bytes, token: bytes, *, location: str) -> TimeStampResponse:
        """The checked response; TamperedError at ``location`` says why it fails."""
        try:
            response = decode_timestamp_response(token)
        except ValueError as exc:
            raise TamperedError(
                Reason("time_stamp_token_exc", "not a time-stamp token ({exc})", exc=exc),
                location=location,
            ) from exc
        imprint = response.tst_info.message_imprint
        if imprint.hash_algorithm != SHA256_OID:
            raise TamperedError(
                Reason("token_does_stamp_sha", "the token does not stamp a SHA-256"),
                location=location,
            )
        if imprint.message != hashlib.sha256(data).digest():
            raise TamperedError(
                Reason(
                    "token_stamps_other_data", "the token stamps other data, not the file beside it"
                ),
                location=location,
            )
        try:
            self._verifier.verify_message(response, data)
        except VerificationError as exc:
            raise TamperedError(
                Reason(
                    "token_does_verify_against",
                    "the token does not verify against the time-stamp authority's root ({exc})",
                    exc=exc,
                ),
                location=location,
            ) from exc
        return response

    def __call__(self, data: bytes, token: bytes, *, location: str) -> datetime:
        """Check ``token`` against ``data``; return the authority's time (genTime)."""
        gen_time = self.response(data, token, location=location).tst_info.gen_time
        return gen_time if gen_time.tzinfo else gen_time.replace(tzinfo=UTC)
