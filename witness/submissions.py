"""What an appliance sends to ``POST /submit``: one signed chain head of one session.

    {"session": "s-…", "kind": "link" | "seal",
     "data": base64 of the link's (or manifest.json's) exact bytes,
     "signature": base64 of the device's signature over them,
     "device": {"public_key": PEM, "certificate": PEM?, "chain": PEM?, "name": "…"}}

``read_submission`` checks it whole before anything is written: the device's key and
certificate load, the signature verifies over the bytes, and the bytes are a canonical link
(or manifest) of the session named. Anything else is a ``BadSubmission`` (400), or a
``SignatureRefused`` (403) when the signature does not verify.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evidence_store import (
    Link,
    Manifest,
    TamperedError,
    VerificationError,
    first_error,
    load_certificates,
    load_public_key,
    public_key_der,
    public_key_pem,
    verify_signature,
)
from witness.enrolment import DeviceClaim

MAX_PEM = 16 * 1024


class BadSubmission(Exception):
    """The submission is malformed: nothing was written."""


class SignatureRefused(Exception):
    """The signature is not the device key's over the bytes: nothing was written."""


class _Device(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    public_key: str = Field(min_length=1, max_length=MAX_PEM)
    certificate: str | None = Field(default=None, max_length=MAX_PEM)
    chain: str | None = Field(default=None, max_length=4 * MAX_PEM)
    name: str = Field(min_length=1, max_length=200)


class SubmitRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    session: str = Field(pattern=r"^s-\d{8}T\d{6}Z-[0-9a-f]{8}$")
    kind: Literal["link", "seal"]
    data: str = Field(min_length=1)
    signature: str = Field(min_length=1, max_length=1024)
    device: _Device


@dataclass(frozen=True)
class Submission:
    session_id: str
    kind: Literal["link", "seal"]
    data: bytes
    signature: bytes
    device: DeviceClaim
    link: Link | None  # the parsed link (kind "link")
    manifest: Manifest | None  # the parsed manifest (kind "seal")


def read_submission(document: Any) -> Submission:
    """Check a submission whole (see the module's docstring)."""
    try:
        request = SubmitRequest.model_validate(document)
    except ValidationError as exc:
        raise BadSubmission(first_error(exc)) from exc
    data = _base64(request.data, "data")
    signature = _base64(request.signature, "signature")
    claim = _claim(request.device)
    try:
        verify_signature(claim.public_key, signature, data, location=request.kind)
    except TamperedError as exc:
        raise SignatureRefused(
            f"the signature is not the device key's (sha256:{claim.key_sha256}) over the "
            f"{request.kind}'s bytes"
        ) from exc
    link = manifest = None
    try:
        if request.kind == "link":
            link = Link.parse(data, location="link")
            found = link.session
        else:
            manifest = Manifest.parse(data, location="manifest.json")
            found = manifest.session
    except VerificationError as exc:
        raise BadSubmission(str(exc)) from exc
    if found != request.session:
        raise BadSubmission(f"the {request.kind} is of session {found}, not {request.session}")
    return Submission(request.session, request.kind, data, signature, claim, link, manifest)


def _base64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSubmission(f"{field} is not base64") from exc


def _claim(device: _Device) -> DeviceClaim:
    try:
        key = load_public_key(device.public_key.encode(), location="device public key")
        certificate = None
        if device.certificate:
            found = load_certificates(device.certificate.encode(), location="device certificate")
            if len(found) != 1:
                raise BadSubmission("the device certificate must be one certificate")
            certificate = found[0]
            if public_key_der(certificate.public_key()) != public_key_der(key):
                raise BadSubmission("the device certificate does not certify its public key")
        intermediates = (
            load_certificates(device.chain.encode(), location="device chain")
            if device.chain
            else []
        )
    except VerificationError as exc:
        raise BadSubmission(str(exc)) from exc
    return DeviceClaim(
        public_key=key,
        public_key_pem=public_key_pem(key).decode(),
        certificate=certificate,
        certificate_pem=device.certificate,
        intermediates=intermediates,
        name=device.name,
    )
