"""Finishing the sessions a dead recorder left unsealed, and salvaging its segment in flight;
never one recorded as sealed elsewhere (the custody log, the witness, the bucket)."""

from recorder.recovery.finish import (
    RecoveryReport,
    chain_stored_segment,
    custody_detail,
    recover_session,
    recover_unfinished,
)
from recorder.recovery.sealed import (
    SealCheck,
    held_by_witness,
    in_bucket,
    receipt_on_the_box,
    recorded_in_custody,
    seal_checks_for,
    sealed_elsewhere,
)

__all__ = [
    "RecoveryReport",
    "SealCheck",
    "chain_stored_segment",
    "custody_detail",
    "held_by_witness",
    "in_bucket",
    "receipt_on_the_box",
    "recorded_in_custody",
    "recover_session",
    "recover_unfinished",
    "seal_checks_for",
    "sealed_elsewhere",
]
