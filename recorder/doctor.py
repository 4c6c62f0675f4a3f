"""``sealroom doctor``'s checks of a room appliance, which need the recorder's settings: the
disk holds ``max_session_seconds``, and the control API's token is there and strong.
``sealroom.cli`` hands them to the doctor (``evidence_store.installation``'s framework)."""

from __future__ import annotations

from evidence_store import UsageError
from evidence_store.installation import Check, DataDir, Problem, Severity
from recorder.disk_guard import DiskGuard
from recorder.service import read_token
from recorder.settings import RecorderSettings

STRONG_TOKEN_LENGTH = 32  # `openssl rand -hex 32` gives 64


def recorder_checks(settings: RecorderSettings) -> list[Check]:
    """The recorder's checks, bound to its settings."""
    return [
        Check("headroom", lambda data: check_headroom(data, settings)),
        Check("recorder token", lambda data: check_token(settings)),
    ]


def check_headroom(data: DataDir, settings: RecorderSettings) -> list[Problem]:
    """The disk holds the longest session the room records, its seal and the reserve: the
    recorder refuses to start a session it cannot hold."""
    if not data.root.is_dir():
        return []
    guard = DiskGuard.for_data_dir(data.root, settings)
    seconds = settings.max_session_seconds
    refusal = guard.budget.start_refusal(
        guard.free_bytes(), seconds, reserve_held=guard.reserve_held
    )
    if refusal is None:
        return []
    return [
        Problem(
            "headroom",
            Severity.SERIOUS,
            f"{refusal}: the room cannot record a full session ([recorder] "
            f"max_session_seconds = {seconds:g}); free space or add storage, never by deleting "
            "evidence",
            paths=(str(data.root),),
        )
    ]


def check_token(settings: RecorderSettings) -> list[Problem]:
    """The control API's token is configured and long enough to resist guessing."""
    try:
        token = read_token(settings.service)
    except UsageError as exc:
        return [
            Problem("recorder token", Severity.WARNING, f"{exc} (`recorder serve` will not start)")
        ]
    if len(token) < STRONG_TOKEN_LENGTH or len(set(token)) < 8:
        return [
            Problem(
                "recorder token",
                Severity.WARNING,
                f"the recorder's control token is weak ({len(token)} characters, "
                f"{len(set(token))} distinct): make one with `openssl rand -hex 32`",
            )
        ]
    return []
