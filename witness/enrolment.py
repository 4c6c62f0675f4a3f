"""Which devices may submit: enrolled on their first submission, then held to their key.

A device is its public key (named by the SHA-256 of its DER form) and the name it gives (the
certificate's common name when it has one). Its first submission enrols it: by a configured
CA when its certificate chains to one, otherwise by trust on first use (TOFU). Either way the
enrolment is a row in ``witness_devices`` and a log line. After that, every submission is
signed by the device key itself (the link's signature), a session's heads must all come from
the key that started it, and a device name stays with its first key: another key claiming a
name enrolled by TOFU is refused with an alarm (an operator re-enrols a replaced appliance).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store import (
    PublicKey,
    TrustStore,
    VerificationError,
    parse_utc,
    public_key_der,
)
from witness.schema import AlarmRow, DeviceRow

log = logging.getLogger("sealroom.witness")


class EnrolmentRefused(Exception):
    """The device may not submit (its name is held by another key)."""


@dataclass(frozen=True)
class DeviceClaim:
    """Who a submission says it comes from."""

    public_key: PublicKey
    public_key_pem: str
    certificate: x509.Certificate | None
    certificate_pem: str | None
    intermediates: list[x509.Certificate]
    name: str

    @property
    def key_sha256(self) -> str:
        return hashlib.sha256(public_key_der(self.public_key)).hexdigest()

    @property
    def display_name(self) -> str:
        if self.certificate is not None:
            names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            if names and isinstance(names[0].value, str):
                return names[0].value
        return self.name


def enrolled_device(session: Session, claim: DeviceClaim, roots: TrustStore, now: str) -> DeviceRow:
    """The device's row; enrols it on its first submission (raises EnrolmentRefused)."""
    row = session.get(DeviceRow, claim.key_sha256)
    if row is not None:
        return row
    name = claim.display_name
    by_ca = _chains_to_a_root(claim, roots, now)
    if not by_ca:
        holder = session.execute(
            select(DeviceRow).where(DeviceRow.name == name).limit(1)
        ).scalar_one_or_none()
        if holder is not None:
            message = (
                f"device {name!r} submitted with key sha256:{claim.key_sha256}, but the name is "
                f"enrolled with key sha256:{holder.key_sha256}: refused (an operator re-enrols "
                "a replaced appliance)"
            )
            log.error("ALARM: %s", message)
            raise EnrolmentRefused(message)
    certificate_sha256 = (
        claim.certificate.fingerprint(hashes.SHA256()).hex() if claim.certificate else None
    )
    row = DeviceRow(
        key_sha256=claim.key_sha256,
        name=name,
        public_key_pem=claim.public_key_pem,
        certificate_sha256=certificate_sha256,
        certificate_pem=claim.certificate_pem,
        enrolled_by="ca" if by_ca else "tofu",
        enrolled_at=now,
    )
    session.add(row)
    how = "its certificate chains to a configured CA" if by_ca else "trust on first use"
    log.warning("enrolled device %r, key sha256:%s (%s)", name, claim.key_sha256, how)
    return row


def record_alarm(
    session: Session, *, kind: str, session_id: str | None, message: str, at: str
) -> None:
    """An alarm row for the console and metrics (the caller logs it at ERROR)."""
    session.add(AlarmRow(at=at, kind=kind, session_id=session_id, message=message))


def _chains_to_a_root(claim: DeviceClaim, roots: TrustStore, now: str) -> bool:
    if claim.certificate is None or not roots.roots:
        return False
    try:
        roots.check(
            public_key=claim.public_key,
            certificate=claim.certificate,
            intermediates=claim.intermediates,
            at=parse_utc(now),
            location="device certificate",
        )
    except VerificationError:
        return False
    return True
