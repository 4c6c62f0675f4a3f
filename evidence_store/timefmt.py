"""UTC timestamps as they appear in evidence: ``2026-11-22T23:59:11.123456Z``."""

from __future__ import annotations

from datetime import UTC, datetime

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_utc(moment: datetime) -> str:
    """Format an aware datetime as a fixed-width UTC timestamp."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: evidence times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
