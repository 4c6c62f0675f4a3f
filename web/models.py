"""The console's tables: units, users, rooms, the session index and bookmarks.

Evidence itself is never stored here: the index can be rebuilt from the evidence store.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db
from web.roles import Role

ROOT_UNIT = "supreme"


def _now() -> datetime:
    return datetime.now(UTC)


class Unit(db.Model):  # type: ignore[name-defined]
    """Supreme → province → district. A user sees their unit and the units below it."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    def subtree_codes(self) -> set[str]:
        codes = {self.code}
        for child in self.children:
            codes |= child.subtree_codes()
        return codes


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=_now)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)


class Room(db.Model):  # type: ignore[name-defined]
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    recorder_url: Mapped[str] = mapped_column(String(300))


class IndexedSession(db.Model):  # type: ignore[name-defined]
    """One row per session in the evidence store, for search and unit scoping."""

    __tablename__ = "indexed_sessions"
    session_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    room: Mapped[str] = mapped_column(String(200), index=True)
    case_number: Mapped[str] = mapped_column(String(200), index=True)
    accused: Mapped[str] = mapped_column(Text, default="")
    investigators: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[str] = mapped_column(String(27), index=True)
    duration_us: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20))


class Bookmark(db.Model):  # type: ignore[name-defined]
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("user_id", "session_id", "offset_ms", "note"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    offset_ms: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=_now)
