"""Errors of the recorder, under sealroom's common base."""

from __future__ import annotations

from evidence_store import SealroomError


class RecorderError(SealroomError):
    """Recording failed or cannot start: encoder, device or storage trouble."""


class RecorderStateError(RecorderError):
    """The request does not fit the recorder's state (e.g. resume while recording)."""

    exit_code = 2
