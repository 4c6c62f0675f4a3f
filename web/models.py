"""The console's tables: units, users and their login sessions, rooms, bookmarks and the
courtroom's references.

Evidence itself is never stored here; neither is the session index, which belongs to
``evidence_store.index`` (the one `sealroom reindex` rebuilds).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
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


LOCAL = "local"  # an account with a password kept here (argon2)
DIRECTORY = "directory"  # an account of the LDAP directory: its password, role and unit live there


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"
    __allow_unmapped__ = True  # login_token and login_id below are not columns
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))  # "" for a directory account
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    source: Mapped[str] = mapped_column(String(20), default=LOCAL)
    # A password set by an administrator (or generated) is changed at the next login.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # False while a second administrator has not approved the account (two-person rule).
    approved: Mapped[bool] = mapped_column(default=True)

    # The login session this object was loaded for (``web.auth.sessions``); not a column.
    login_token: str | None = None
    login_id: int | None = None

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active and self.approved)

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: the login session's token, never the user's
        id, so that a session ended on the server cannot be revived by its cookie."""
        if self.login_token is None:
            raise RuntimeError("a user is logged in through web.auth.sessions only")
        return self.login_token


class LoginSession(db.Model):  # type: ignore[name-defined]
    """One login: the cookie holds a random token, the table its SHA-256. Ended by logout,
    "log out everywhere", a password change or reset, disabling the account, or the idle and
    absolute timeouts. Every console process reads the same rows, so a login on one is
    honoured (and a logout enforced) by all."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    user: Mapped[User] = relationship()
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class LoginBackoff(db.Model):  # type: ignore[name-defined]
    """Failed logins of one username from one address, and how long that pair must wait.
    Kept per pair, so failures from one address never lock the account for another."""

    __tablename__ = "login_backoff"
    __table_args__ = (UniqueConstraint("username", "address"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=_now)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)


class AccountChange(db.Model):  # type: ignore[name-defined]
    """A change that opens a path to evidence (a new account, role or unit, or a password an
    administrator sets), waiting for a second administrator (the two-person rule)."""

    __tablename__ = "account_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    user: Mapped[User] = relationship()
    kind: Mapped[str] = mapped_column(String(20))  # create, role, unit, password
    role: Mapped[str] = mapped_column(String(20))  # the role the account will have
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # the unit it will have
    unit: Mapped[Unit] = relationship()
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending, approved, refused
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=_now)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # A password an administrator set, as its argon2 hash, until a second one decides.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)


class Room(db.Model):  # type: ignore[name-defined]
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    recorder_url: Mapped[str] = mapped_column(String(300))


class Bookmark(db.Model):  # type: ignore[name-defined]
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("user_id", "session_id", "offset_ms", "note"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    offset_ms: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # Shared: everyone who may see the session sees it (the case's team); else its author only.
    shared: Mapped[bool] = mapped_column(default=True)
    author: Mapped[User] = relationship()


# -- the courtroom (exhibits, hearings, presentation, exports) --------------------------------


class Clip(db.Model):  # type: ignore[name-defined]
    """A span of a sealed session shown or exported as an exhibit. Never a re-encoded copy:
    it names the sealed segments it covers, and ``proof`` holds the chain values that tie
    them to the signed head (see ``evidence_store.clips``)."""

    __tablename__ = "clips"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    exhibit_number: Mapped[str] = mapped_column(String(50))
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    proof: Mapped[str] = mapped_column(Text)  # JSON: evidence_store.clips.ClipProof
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class Diagram(db.Model):  # type: ignore[name-defined]
    """An uploaded image or PDF, or a diagram drawn in the browser. The original bytes are
    kept write-once under ``<data_dir>/exhibits/`` by their SHA-256 and never altered;
    annotations are separate layers."""

    __tablename__ = "diagrams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # "image", "pdf" or "drawn"
    filename: Mapped[str] = mapped_column(String(300), default="")
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored original
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    layers: Mapped[list[DiagramLayer]] = relationship(
        back_populates="diagram", order_by="DiagramLayer.position"
    )


class DiagramLayer(db.Model):  # type: ignore[name-defined]
    """Annotations over a diagram: arrows, highlights, callouts, text (JSON shapes)."""

    __tablename__ = "diagram_layers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    diagram_id: Mapped[int] = mapped_column(ForeignKey("diagrams.id"), index=True)
    diagram: Mapped[Diagram] = relationship(back_populates="layers")
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    shapes: Mapped[str] = mapped_column(Text, default="[]")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=_now)


class Hearing(db.Model):  # type: ignore[name-defined]
    __tablename__ = "hearings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    case_number: Mapped[str] = mapped_column(String(200), index=True)
    court: Mapped[str] = mapped_column(String(300))
    hearing_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    exhibits: Mapped[list[HearingExhibit]] = relationship(
        back_populates="hearing", order_by="HearingExhibit.position"
    )


class HearingExhibit(db.Model):  # type: ignore[name-defined]
    """One entry of a hearing's ordered exhibit list: a clip or a diagram."""

    __tablename__ = "hearing_exhibits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"), index=True)
    hearing: Mapped[Hearing] = relationship(back_populates="exhibits")
    position: Mapped[int] = mapped_column(Integer)
    exhibit_number: Mapped[str] = mapped_column(String(50))
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"), default=None)
    clip: Mapped[Clip | None] = relationship()
    diagram_id: Mapped[int | None] = mapped_column(ForeignKey("diagrams.id"), default=None)
    diagram: Mapped[Diagram | None] = relationship()


class PresentationState(db.Model):  # type: ignore[name-defined]
    """What the audience screen of a hearing shows now. ``version`` grows with every change
    so audience screens (server-sent events) can tell they are behind."""

    __tablename__ = "presentation_states"
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    updated_at: Mapped[datetime] = mapped_column(default=_now)


class StreamSlot(db.Model):  # type: ignore[name-defined]
    """An open court-screen stream, counted per user and per unit by every console process
    alike (``web.courtroom.slots``); it expires unless its process renews it."""

    __tablename__ = "stream_slots"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    holder: Mapped[str] = mapped_column(String(100))  # host:pid of the process, for operators
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ExportRequest(db.Model):  # type: ignore[name-defined]
    """An export of a session or a clip asked for in the console; approved by a supervisor
    where the configuration requires it, then built as a package."""

    __tablename__ = "export_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"), default=None)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20))  # pending, approved, refused, built
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    package: Mapped[str] = mapped_column(String(300), default="")  # file name under exports/
    package_sha256: Mapped[str] = mapped_column(String(64), default="")


class Job(db.Model):  # type: ignore[name-defined]
    """Background work in the shared database (``web.jobs``): an export build, later scrubs.

    Whoever runs it holds a lease (``lease_owner`` until ``lease_until``) that it renews while
    it works; a lease that runs out is a runner that died, and the job is taken again, up to
    ``MAX_ATTEMPTS``. So work asked for on one console replica is done by any worker, and
    survives the restart of the replica, and of the worker."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str] = mapped_column(String(100), index=True)  # e.g. the export request's id
    state: Mapped[str] = mapped_column(String(10), index=True)  # queued running done failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    actor: Mapped[str] = mapped_column(String(300), default="{}")  # JSON: username, role
    stage: Mapped[str] = mapped_column(String(20), default="")
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
