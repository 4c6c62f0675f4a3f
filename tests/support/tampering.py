"""Edits an attacker makes to sealed evidence, shared by the tamper tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.evidence import (
    resign_session,
)

EDITED_CASE = "VKS-999/2026/HS-ĐT"


EDITED_TIME = "2026-01-01T08:00:00.000000Z"


EDITED_REASON = "bị can xin nghỉ"


def set_case_number(document: dict[str, Any]) -> None:
    document["metadata"]["case_number"] = EDITED_CASE


def resign_with_new_case_number(session: Path, attacker: Any) -> None:
    resign_session(
        session,
        attacker,
        edit_link=lambda seq, link: set_case_number(link["event"]) if seq == 0 else None,
        edit_manifest=set_case_number,
    )
