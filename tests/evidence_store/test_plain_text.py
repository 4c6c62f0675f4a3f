"""Metadata is plain text, one line: the evidence model refuses control characters in every
field of a new session, while a session sealed before the rule still verifies.

Why the verifier keeps accepting them in stored documents: what a device signed is evidence
as it was signed. Refusing it on reading would report a genuine recording as tampered, which
is false, and would break every reader of it (the console, the uploader, exports). Such text
is shown with its control characters spelled out (``spelled_out``) and escaped where it
enters a README, a PDF or a page, so it can neither break a line nor pass for other text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from evidence_store import (
    PresentPerson,
    SessionMetadata,
    SessionWriter,
    first_error,
    plain_text_problem,
    spelled_out,
    verify_session,
)
from evidence_store.export.docs import markdown_text
from evidence_store.installation import DataDir
from evidence_store.model import Event, EventType, stored
from tests.support.console import MEDIA

CONTROLS = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\u202e"]
BASE: dict[str, Any] = {"case_number": "VKS-1/2026", "room": "Phòng 1"}
FIELDS: dict[str, Any] = {
    "case_number": lambda bad: bad,
    "room": lambda bad: bad,
    "unit": lambda bad: bad,
    "accused": lambda bad: [bad],
    "investigators": lambda bad: [bad],
    "others_present": lambda bad: [{"name": bad, "role": "luật sư"}],
    "timezone": lambda bad: bad,
}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_field_of_a_new_session_refuses_control_characters(field: str, control: str) -> None:
    bad = f"A{control}B"
    with pytest.raises(ValidationError) as refused:
        SessionMetadata.model_validate({**BASE, field: FIELDS[field](bad)})
    assert "write it on one line" in first_error(refused.value)
    assert first_error(refused.value).startswith(field)


def test_a_present_persons_role_and_an_events_reason_are_checked_too() -> None:
    with pytest.raises(ValidationError, match="line break"):
        PresentPerson(name="Lê Văn C", role="luật\nsư")
    with pytest.raises(ValidationError, match="tab"):
        Event(type=EventType.PAUSED, reason="nghỉ\tgiải lao")


def test_ordinary_vietnamese_text_is_plain() -> None:
    assert plain_text_problem("Nguyễn Văn Án — VKS-12/2026 (bị can)") is None
    assert plain_text_problem("A\nB") == (
        "contains a line break (U+000A): write it on one line, without control characters"
    )
    assert spelled_out("A\nB\u2028C") == "A\\nB\\u2028C"


def test_a_session_sealed_before_the_rule_still_verifies(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path)
    store = data.store(create=True)
    sealed_then = SessionMetadata.model_validate(
        {**BASE, "case_number": "A\nB", "accused": ["C\tD"]}, context=stored()
    )
    writer = SessionWriter.start(store, data.signer(), sealed_then, MEDIA)
    writer.inflight_path(0).write_bytes(b"\x00" * 512)
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    writer.stop("kết thúc")
    result = verify_session(store, writer.session_id, data.trust())
    assert result.segments == 1


def test_text_from_people_cannot_make_markdown() -> None:
    title = "Lời khai\n\n# Giả mạo\n[bấm vào](http://x.example) | cột"
    line = markdown_text(title)
    assert "\n" not in line and "\\#" in line and "\\[" in line and "\\|" in line
    assert line.startswith("Lời khai\\\\n")
