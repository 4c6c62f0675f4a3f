"""The session index leaves the console's database for ``evidence_store.index``.

``indexed_sessions`` was only a cache of the evidence store; the one session index (its own
table and migrations, at the installation's ``session_index_url``) is filled again from the
store on the console's next listing.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("indexed_sessions")


def downgrade() -> None:
    # Empty: the console of revision 0002 refills it from the store.
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
