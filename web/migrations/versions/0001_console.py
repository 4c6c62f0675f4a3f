"""Units, users, rooms, the session index and bookmarks; the root unit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    units = op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=True),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("recorder_url", sa.String(300), nullable=False),
    )
    op.create_table(
        "indexed_sessions",
        sa.Column("session_id", sa.String(40), primary_key=True),
        sa.Column("unit_code", sa.String(64), nullable=False, index=True),
        sa.Column("room", sa.String(200), nullable=False, index=True),
        sa.Column("case_number", sa.String(200), nullable=False, index=True),
        sa.Column("accused", sa.Text(), nullable=False, server_default=""),
        sa.Column("investigators", sa.Text(), nullable=False, server_default=""),
        sa.Column("started_at", sa.String(27), nullable=False, index=True),
        sa.Column("duration_us", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(20), nullable=False),
    )
    op.create_table(
        "bookmarks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("session_id", sa.String(40), nullable=False, index=True),
        sa.Column("offset_ms", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "session_id", "offset_ms", "note"),
    )
    op.bulk_insert(
        units, [{"code": "supreme", "name": "Viện kiểm sát nhân dân tối cao", "parent_id": None}]
    )


def downgrade() -> None:
    for table in ("bookmarks", "indexed_sessions", "rooms", "users", "units"):
        op.drop_table(table)
