"""Whether a session recovery finds unsealed is recorded as sealed somewhere it can ask.

Recovery seals only what was never sealed. A session whose seal is missing but which a record
says was sealed has had its seal removed, and perhaps its end with it: sealing it again would
give a shortened recording a fresh seal under the device's own key. Each record recovery can
consult is one check below; the first that knows the session as sealed answers.
"""

from __future__ import annotations

from evidence_store.custody import CustodyLog

# Custody actions written once a session's seal is complete.
SEALED_ACTIONS = frozenset({"record_sealed", "record_recovered"})


def sealed_elsewhere(session_id: str, *, custody: CustodyLog) -> str | None:
    """Where ``session_id`` is recorded as sealed, as a clause for the alarm; None if no
    record says so."""
    return _sealed_in_custody(session_id, custody)


def _sealed_in_custody(session_id: str, custody: CustodyLog) -> str | None:
    for entry in custody.entries(session_id=session_id):
        if entry.action in SEALED_ACTIONS:
            segments = entry.detail.get("segments", "?")
            head = str(entry.detail.get("head", ""))[:16]
            return (
                f"the custody log records it as sealed (row {entry.seq}, {entry.action} at "
                f"{entry.at}: {segments} segments, head {head}…)"
            )
    return None
