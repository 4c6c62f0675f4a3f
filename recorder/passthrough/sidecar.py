"""Where an unfinished segment of a track starts, kept beside it while it is written.

A camera track's segments do not always follow each other (an outage leaves a gap), so
recovery cannot work out where a cut-off segment belongs from the chain alone. When a segment
file is opened, its session start is written durably next to it in the in-flight directory
(``NNNNNN.mp4.start``, outside the evidence); recovery reads it back.
"""

from __future__ import annotations

from pathlib import Path

from evidence_store import replace_atomically

SUFFIX = ".start"


def start_file(segment: Path) -> Path:
    return segment.with_name(segment.name + SUFFIX)


def write_start(segment: Path, start_us: int) -> None:
    """Record, durably, that the segment being written at ``segment`` starts at
    ``start_us`` on the session timeline."""
    replace_atomically(start_file(segment), f"{start_us}\n".encode(), mode=0o600)


def read_start(segment: Path) -> int | None:
    """The start recorded for ``segment``; None when there is none (or it is unreadable)."""
    try:
        text = start_file(segment).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
