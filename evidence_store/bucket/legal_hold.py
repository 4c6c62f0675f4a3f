"""Legal hold on a session in the object store: set and released by a person, each logged in
the custody log.

A legal hold keeps an object past its retention date, until it is released; unlike
retention it has no end date. It is applied to the first (evidence) version of every object
of the session present in the bucket when it is set, so set it once the session has been
uploaded completely (``sealroom verify --store s3`` says INTACT).
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence_store import layout
from evidence_store.bucket.store import S3Store
from evidence_store.custody import CustodyLog
from evidence_store.errors import UnknownSessionError, UsageError


@dataclass(frozen=True)
class LegalHoldChange:
    session_id: str
    on: bool
    objects: int
    bucket: str


def set_legal_hold(
    store: S3Store,
    custody: CustodyLog,
    session_id: str,
    *,
    on: bool,
    actor: str,
    role: str,
    reason: str,
) -> LegalHoldChange:
    """Set (``on``) or release a legal hold on every object of a session; log it in custody."""
    if not reason.strip():
        raise UsageError("a legal hold needs a reason (e.g. the court order's number)")
    prefix = layout.session_prefix(session_id)
    keys = store.list_keys(prefix)
    if not keys:
        raise UnknownSessionError(f"unknown session {session_id} in {store.describe()}")
    for key in keys:
        store.set_legal_hold(key, on=on)
    custody.record(
        actor=actor,
        role=role,
        action="legal_hold_set" if on else "legal_hold_released",
        session_id=session_id,
        detail={"reason": reason.strip(), "objects": len(keys), "bucket": store.describe()},
    )
    return LegalHoldChange(session_id, on, len(keys), store.describe())


def legal_hold_status(store: S3Store, session_id: str) -> dict[str, bool]:
    """Each object of the session and whether it is under legal hold."""
    prefix = layout.session_prefix(session_id)
    keys = store.list_keys(prefix)
    if not keys:
        raise UnknownSessionError(f"unknown session {session_id} in {store.describe()}")
    return {key: store.legal_hold(key) for key in keys}
