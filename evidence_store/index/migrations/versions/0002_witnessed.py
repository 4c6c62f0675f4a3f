"""Whether the off-box witness's receipt for the seal is stored with the session (the
console's "not yet witnessed" badge). Rows indexed before are re-read by the next refresh.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_index") as table:
        table.add_column(
            sa.Column("witnessed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("session_index") as table:
        table.drop_column("witnessed")
