"""Record each custody row's hash format: 1 for the rows written before (absent values hashed
as null), 2 from now on (absent values left out, as everywhere else in the format).

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
    with op.batch_alter_table("custody_events") as batch:
        batch.add_column(sa.Column("v", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("custody_events") as batch:
        batch.drop_column("v")
