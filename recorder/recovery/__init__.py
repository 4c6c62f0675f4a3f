"""Finishing the sessions a dead recorder left unsealed, and salvaging its segment in flight."""

from recorder.recovery.finish import (
    RecoveryReport,
    chain_stored_segment,
    custody_detail,
    recover_session,
    recover_unfinished,
)
from recorder.recovery.sealed import sealed_elsewhere

__all__ = [
    "RecoveryReport",
    "chain_stored_segment",
    "custody_detail",
    "recover_session",
    "recover_unfinished",
    "sealed_elsewhere",
]
