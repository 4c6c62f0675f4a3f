"""``sealroom doctor``: no certificate the installation relies on has expired or is about to
(the device's, its chain, the trust roots, the time-stamp authority's root), and the secrets
it holds are long enough to resist guessing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from evidence_store.errors import UsageError
from evidence_store.installation import DataDir, Problem, Severity
from evidence_store.settings import s3_credentials

RENEW_WITHIN = timedelta(days=30)
MIN_SECRET_LENGTH = 16


def _pem_files(data: DataDir) -> list[Path]:
    signing = data.settings.signing
    found = [data.root / "keys", data.root / "trust", *data.settings.trust_roots]
    found += [p for p in (signing.certificate_file, signing.chain_file, data.settings.tsa_ca) if p]
    files: list[Path] = []
    for place in found:
        if place.is_dir():
            files += sorted(place.rglob("*.pem"))
        elif place.is_file():
            files.append(place)
    return sorted(set(files))


def _certificates(path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        return []  # a key, or not PEM: nothing that expires


def check_certificates(data: DataDir, *, now: datetime | None = None) -> list[Problem]:
    """Each certificate in the keys, the trust roots, the signing settings and ``tsa_ca``."""
    moment = now or datetime.now(UTC)
    problems = []
    for path in _pem_files(data):
        for certificate in _certificates(path):
            subject = certificate.subject.rfc4514_string() or "(no subject)"
            until = certificate.not_valid_after_utc
            if until <= moment:
                severity, what = Severity.SERIOUS, f"expired on {until:%Y-%m-%d}"
            elif until - moment <= RENEW_WITHIN:
                severity, what = Severity.WARNING, f"expires on {until:%Y-%m-%d}: renew it"
            else:
                continue
            problems.append(
                Problem("certificates", severity, f"{subject} in {path} {what}", paths=(str(path),))
            )
    return problems


def check_secrets(data: DataDir) -> list[Problem]:
    """The object store's secret key (the credentials the uploader writes evidence with)."""
    s3 = data.settings.s3.with_environment()
    if not s3.endpoint:
        return []
    try:
        _, secret = s3_credentials(s3)
    except UsageError as exc:  # missing or unreadable: the uploader will say the same
        return [Problem("secrets", Severity.SERIOUS, f"the object store's credentials: {exc}")]
    if len(secret) < MIN_SECRET_LENGTH:
        return [
            Problem(
                "secrets",
                Severity.WARNING,
                f"the object store's secret key has {len(secret)} characters; use at least "
                f"{MIN_SECRET_LENGTH} random ones",
            )
        ]
    return []
