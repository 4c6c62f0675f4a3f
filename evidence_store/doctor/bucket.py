"""``sealroom doctor``: the object store keeps evidence under Object Lock, with versioning,
and no SeaweedFS filer port (which writes and deletes files past Object Lock) is reachable
from here."""

from __future__ import annotations

import socket

from evidence_store.bucket import ObjectStoreUnavailableError, S3Access, S3Store
from evidence_store.errors import StoreError, UsageError
from evidence_store.installation import DataDir, Problem, Severity

PROBE_SECONDS = 1.0


def check_bucket(data: DataDir) -> list[Problem]:
    """The configured bucket exists with Object Lock and versioning on."""
    if not data.settings.s3.with_environment().endpoint:
        return [
            Problem(
                "bucket",
                Severity.INFO,
                "no object store configured: sessions are kept on this box only",
            )
        ]
    try:
        store = S3Store.connect(S3Access.from_settings(data.settings.s3))
    except ObjectStoreUnavailableError as exc:
        return [Problem("bucket", Severity.WARNING, f"the object store cannot be reached: {exc}")]
    except (StoreError, UsageError) as exc:  # no lock, no versioning, no bucket, bad settings
        return [Problem("bucket", Severity.SERIOUS, str(exc))]
    del store  # connecting checked the bucket (``S3Store.check_bucket``)
    return []


def check_filer_ports(data: DataDir) -> list[Problem]:
    """Each of ``[evidence.operations] filer_ports`` on the object store's host is closed."""
    endpoint = data.settings.s3.with_environment().endpoint
    if not endpoint:
        return []
    host = endpoint.rsplit(":", 1)[0].strip("[]")
    problems = []
    for port in data.settings.operations.filer_ports:
        if _reachable(host, port):
            problems.append(
                Problem(
                    "filer",
                    Severity.SERIOUS,
                    f"a SeaweedFS filer answers at {host}:{port}: the filer writes and "
                    "deletes files past Object Lock; close the port to everything but the "
                    "SeaweedFS servers (firewall, or bind it to their network)",
                )
            )
    return problems


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False
