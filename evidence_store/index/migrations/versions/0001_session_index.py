"""The session index under migrations: a row per session with its summary.

Replaces the unversioned ``session_index`` table that `sealroom reindex` used to drop and
recreate: that table was only a cache of the store, so it is dropped here and filled again by
the next refresh or `sealroom reindex`.

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
    if sa.inspect(op.get_bind()).has_table("session_index"):
        op.drop_table("session_index")
    op.create_table(
        "session_index",
        sa.Column("session_id", sa.String(40), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("unit", sa.String(200), nullable=True, index=True),
        sa.Column("room", sa.String(200), nullable=True, index=True),
        sa.Column("case_number", sa.String(200), nullable=True, index=True),
        sa.Column("accused", sa.Text(), nullable=False),
        sa.Column("investigators", sa.Text(), nullable=False),
        sa.Column("session_metadata", sa.Text(), nullable=True),
        sa.Column("started_at", sa.String(27), nullable=True, index=True),
        sa.Column("ended_at", sa.String(27), nullable=True),
        sa.Column("duration_us", sa.BigInteger(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("media_bytes", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(64), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("retain_until", sa.String(27), nullable=True),
        sa.Column("indexed_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_index")
