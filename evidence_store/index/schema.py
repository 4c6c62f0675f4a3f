"""The catalog's one table: a row per session (``session_index``). Changes go through an
Alembic migration (``migrations/``), so an installation's catalog upgrades in place.

The columns are the summary's (``summary.SessionSummary``), flattened for searching and
sorting; ``session_metadata`` keeps the metadata document whole, so a row gives back the
summary it was made from. Lists (accused, investigators) are JSON arrays. The ``*_key``
columns hold the same text in the one search form (``search_text.search_key``), indexed for
substring search: trigram GIN indexes on PostgreSQL, an FTS5 trigram table on SQLite
(``session_index_search``, kept by triggers).

``links`` and ``location`` make the rows safe to feed from events that arrive late, twice or
out of order: a row only moves forward, by its chain's length and seal, and by where its
evidence is (the room's spool, then the bucket, then the bucket alone).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

KEY_COLUMNS = ("case_key", "accused_key", "investigators_key", "room_key")
SEARCH_TABLE = "session_index_search"  # SQLite only: FTS5 over the key columns


class IndexBase(DeclarativeBase):
    pass


class SessionRow(IndexBase):
    __tablename__ = "session_index"

    # A stable integer key: SQLite's full-text table points at rows by it.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    unit: Mapped[str | None] = mapped_column(String(200), index=True)
    room: Mapped[str | None] = mapped_column(String(200))
    case_number: Mapped[str | None] = mapped_column(String(200))
    accused: Mapped[str] = mapped_column(Text)  # JSON array of names
    investigators: Mapped[str] = mapped_column(Text)  # JSON array of names
    case_key: Mapped[str] = mapped_column(Text, default="")
    accused_key: Mapped[str] = mapped_column(Text, default="")
    investigators_key: Mapped[str] = mapped_column(Text, default="")
    room_key: Mapped[str] = mapped_column(Text, default="")
    session_metadata: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    started_at: Mapped[str | None] = mapped_column(String(27))  # ix_session_index_newest
    ended_at: Mapped[str | None] = mapped_column(String(27))
    duration_us: Mapped[int] = mapped_column(BigInteger)
    segments: Mapped[int] = mapped_column(Integer)
    media_bytes: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[str | None] = mapped_column(String(64))
    links: Mapped[int] = mapped_column(Integer, default=0)  # the chain's length it reflects
    location: Mapped[str] = mapped_column(String(10), default="spool")
    reported_by: Mapped[str | None] = mapped_column(String(64))  # the room code of its events
    problem: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    retain_until: Mapped[str | None] = mapped_column(String(27))
    indexed_at: Mapped[str] = mapped_column(String(27))
    witnessed: Mapped[bool] = mapped_column(Boolean, default=False)


# Not part of IndexBase: the migrations create it, on SQLite only, as an FTS5 virtual table.
search_table = Table(
    SEARCH_TABLE,
    MetaData(),
    Column("rowid", Integer, primary_key=True),
    *(Column(name, Text) for name in KEY_COLUMNS),
)
