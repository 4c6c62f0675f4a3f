"""Where else a session may be recorded as sealed: recovery never re-seals such a session.

A session without ``manifest.sig`` looks unfinished on the box, but the box is not the only
witness of it: the custody log may record its sealing (``record_sealed``, ``record_recovered``),
the off-box witness may hold its seal, the bucket may hold its manifest, and the box may
still hold the witness's receipt for the seal. If any of them does, the seal was
removed after it was made (issue 11, finding 1: shorten and re-seal), and recovery refuses,
with an alarm and a custody event, instead of sealing a shorter session with the device key.

Each check takes a session id and returns where the session is recorded as sealed, or None.
A check that cannot answer (the witness or the bucket is down) answers None: recovery must
not wait for the network, and verification, which asks the witness too, will tell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from evidence_store import FilesystemStore, SealroomError, layout
from evidence_store.bucket import S3Access, S3Store
from evidence_store.custody import CustodyLog
from evidence_store.installation import DataDir
from evidence_store.witnessing import WitnessClient, sealed_at_witness

log = logging.getLogger("sealroom.recorder")

SealCheck = Callable[[str], str | None]
# Custody actions written once a session's seal is complete.
SEALED_ACTIONS = frozenset({"record_sealed", "record_recovered"})


def recorded_in_custody(custody: CustodyLog) -> SealCheck:
    """The custody log records the session's sealing. Recovery always asks it: it is the
    installation's own record, and an insider who removes it leaves the log's checkpoints
    (and the witness) to tell."""

    def check(session_id: str) -> str | None:
        for entry in custody.entries(session_id=session_id):
            if entry.action in SEALED_ACTIONS:
                segments = entry.detail.get("segments", "?")
                head = str(entry.detail.get("head", ""))[:16]
                return (
                    f"the custody log records it as sealed (row {entry.seq}, {entry.action} "
                    f"at {entry.at}: {segments} segments, head {head}…)"
                )
        return None

    return check


def receipt_on_the_box(store: FilesystemStore) -> SealCheck:
    """The witness's receipt for the seal is still in the session's folder."""

    def check(session_id: str) -> str | None:
        if store.exists(layout.session_prefix(session_id) + layout.SEAL_RECEIPT):
            return f"its {layout.SEAL_RECEIPT} (the witness's receipt for the seal) is on the box"
        return None

    return check


def held_by_witness(client: WitnessClient) -> SealCheck:
    """The off-box witness holds a seal of the session."""

    def check(session_id: str) -> str | None:
        try:
            view = sealed_at_witness(client, session_id)
        except SealroomError as exc:
            log.warning("the witness could not say whether %s was sealed: %s", session_id, exc)
            return None
        if view is None or view.seal is None:
            return None
        return (
            f"the witness {client.url} holds its seal ({view.seal.segments} segments, "
            f"received at {view.seal.received_at})"
        )

    return check


def in_bucket(has_manifest: Callable[[str], bool], describe: str) -> SealCheck:
    """The bucket holds the session's manifest (``has_manifest`` takes the object key)."""

    def check(session_id: str) -> str | None:
        key = layout.session_prefix(session_id) + layout.MANIFEST
        try:
            found = has_manifest(key)
        except SealroomError as exc:
            log.warning("the bucket could not say whether %s was sealed: %s", session_id, exc)
            return None
        return f"the bucket {describe} holds its manifest" if found else None

    return check


def sealed_elsewhere(checks: list[SealCheck], session_id: str) -> str | None:
    """The first place that records the session as sealed, or None."""
    for check in checks:
        if (found := check(session_id)) is not None:
            return found
    return None


def seal_checks_for(
    data: DataDir, store: FilesystemStore, witness: WitnessClient | None
) -> list[SealCheck]:
    """Every place the installation can ask: its own receipts, its witness, its bucket."""
    checks = [receipt_on_the_box(store)]
    if witness is not None:
        checks.append(held_by_witness(witness))
    if data.settings.s3.with_environment().endpoint is not None:
        try:
            access = S3Access.from_settings(data.settings.s3)
        except SealroomError as exc:
            log.warning("the bucket is not asked before recovery: %s", exc)
        else:
            bucket = S3Store(access, access.client())  # no bucket check: one HEAD per session
            checks.append(in_bucket(lambda key: bucket.head(key) is not None, access.describe()))
    return checks
