"""The session index's one table: a row per session, keyed by its id. Changes go through an
Alembic migration (``migrations/``), so an installation's index upgrades in place.

The columns are the summary's (``summary.SessionSummary``), flattened for searching and
sorting; ``session_metadata`` keeps the metadata document whole, so a row gives back the
summary it was made from. Lists (accused, investigators) are JSON arrays.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class IndexBase(DeclarativeBase):
    pass


class SessionRow(IndexBase):
    __tablename__ = "session_index"

    session_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    unit: Mapped[str | None] = mapped_column(String(200), index=True)
    room: Mapped[str | None] = mapped_column(String(200), index=True)
    case_number: Mapped[str | None] = mapped_column(String(200), index=True)
    accused: Mapped[str] = mapped_column(Text)  # JSON array of names
    investigators: Mapped[str] = mapped_column(Text)  # JSON array of names
    session_metadata: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    started_at: Mapped[str | None] = mapped_column(String(27), index=True)
    ended_at: Mapped[str | None] = mapped_column(String(27))
    duration_us: Mapped[int] = mapped_column(BigInteger)
    segments: Mapped[int] = mapped_column(Integer)
    media_bytes: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[str | None] = mapped_column(String(64))
    problem: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    retain_until: Mapped[str | None] = mapped_column(String(27))
    indexed_at: Mapped[str] = mapped_column(String(27))
    witnessed: Mapped[bool] = mapped_column(Boolean, default=False)
