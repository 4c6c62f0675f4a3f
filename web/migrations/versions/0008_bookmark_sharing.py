"""Bookmarks are shared with everyone who may see their session, unless made private.

Bookmarks made before were visible to their author alone, and stay so.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookmarks") as bookmarks:
        bookmarks.add_column(
            sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("bookmarks") as bookmarks:
        bookmarks.drop_column("shared")
