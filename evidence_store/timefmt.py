"""UTC timestamps as they appear in evidence: ``2026-11-22T23:59:11.123456Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"


TIMESTAMP = re.compile(TIMESTAMP_PATTERN)


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_utc(moment: datetime) -> str:
    """Format an aware datetime as a fixed-width UTC timestamp."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: evidence times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    """Read a timestamp of exactly the stored form (ASCII digits, a real calendar time)."""
    if not TIMESTAMP.fullmatch(text):
        raise ValueError(f"not a UTC timestamp of the form 2026-11-22T23:59:11.123456Z: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
