"""How long the object store must keep each object: COMPLIANCE retention per case category.

Retention is computed, never remembered: a session's objects are locked until its start (the
time of link 0) plus its category's days, truncated to the whole second (S3 keeps seconds).
So the same object always gets the same date, whichever run uploads it and however late, and
the uploader can check a stored date against the policy at any time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from evidence_store.model import SessionMetadata
from evidence_store.settings import RetentionSettings


def whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


class RetentionPolicy:
    """Maps a session's metadata to its case category and retain-until date."""

    def __init__(self, settings: RetentionSettings) -> None:
        self.settings = settings

    def category(self, metadata: SessionMetadata) -> str:
        """The first rule whose every given pattern matches wins; else the default."""
        for rule in self.settings.rules:
            checks = [
                (rule.case_number, metadata.case_number),
                (rule.unit, metadata.unit or ""),
                (rule.room, metadata.room),
            ]
            if all(re.search(p, value) for p, value in checks if p is not None):
                return rule.category
        return self.settings.default_category

    def days(self, category: str) -> int:
        return self.settings.categories[category]

    def session_until(self, metadata: SessionMetadata, started_at: datetime) -> datetime:
        """Every object of the session is locked until this moment (UTC, whole seconds)."""
        days = self.days(self.category(metadata))
        return whole_second(started_at + timedelta(days=days))

    def custody_until(self, at: datetime) -> datetime:
        """Custody checkpoints are locked until their time plus the custody days."""
        days = self.settings.custody_days or self.days(self.settings.default_category)
        return whole_second(at + timedelta(days=days))
