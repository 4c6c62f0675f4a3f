"""The witness's log: the tree, its entries and signed heads, sessions, forks, devices, alarms.

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
    op.create_table(
        "witness_tree",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "witness_nodes",
        sa.Column("level", sa.SmallInteger(), primary_key=True),
        sa.Column("idx", sa.BigInteger(), primary_key=True),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "witness_entries",
        sa.Column("leaf_index", sa.BigInteger(), primary_key=True),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=False, index=True),
        sa.Column("received_at", sa.String(27), nullable=False),
    )
    op.create_table(
        "witness_tree_heads",
        sa.Column("tree_size", sa.BigInteger(), primary_key=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp", sa.String(27), nullable=False),
        sa.Column("stamp", sa.LargeBinary(), nullable=True),
    )
    op.create_table(
        "witness_sessions",
        sa.Column("session_id", sa.String(40), primary_key=True),
        sa.Column("device", sa.String(64), nullable=False, index=True),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(64), nullable=True),
        sa.Column("first_received_at", sa.String(27), nullable=False),
        sa.Column("seal_sha256", sa.String(64), nullable=True),
        sa.Column("seal_chain_length", sa.Integer(), nullable=True),
        sa.Column("seal_head", sa.String(64), nullable=True),
        sa.Column("seal_segments", sa.Integer(), nullable=True),
        sa.Column("seal_received_at", sa.String(27), nullable=True),
        sa.Column("seal_receipt", sa.LargeBinary(), nullable=True),
    )
    op.create_table(
        "witness_heads",
        sa.Column("session_id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "witness_forks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.String(27), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "witness_devices",
        sa.Column("key_sha256", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("certificate_sha256", sa.String(64), nullable=True),
        sa.Column("certificate_pem", sa.Text(), nullable=True),
        sa.Column("enrolled_by", sa.String(10), nullable=False),
        sa.Column("enrolled_at", sa.String(27), nullable=False),
    )
    op.create_table(
        "witness_alarms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(27), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.bulk_insert(
        sa.table("witness_tree", sa.column("id", sa.Integer()), sa.column("size", sa.BigInteger())),
        [{"id": 1, "size": 0}],
    )


def downgrade() -> None:
    for table in (
        "witness_alarms",
        "witness_devices",
        "witness_forks",
        "witness_heads",
        "witness_sessions",
        "witness_tree_heads",
        "witness_entries",
        "witness_nodes",
        "witness_tree",
    ):
        op.drop_table(table)
