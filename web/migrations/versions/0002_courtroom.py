"""The courtroom: clips, diagrams and their layers, hearings, presentation state, exports.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _user(column: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(column, sa.Integer(), sa.ForeignKey("users.id"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "clips",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(40), nullable=False, index=True),
        sa.Column("unit_code", sa.String(64), nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("exhibit_number", sa.String(50), nullable=False),
        sa.Column("start_ms", sa.Integer(), nullable=False),
        sa.Column("end_ms", sa.Integer(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        _user("created_by"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "diagrams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_code", sa.String(64), nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False, server_default=""),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("height", sa.Integer(), nullable=False, server_default="0"),
        _user("created_by"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "diagram_layers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "diagram_id", sa.Integer(), sa.ForeignKey("diagrams.id"), nullable=False, index=True
        ),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("shapes", sa.Text(), nullable=False, server_default="[]"),
        _user("created_by"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "hearings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_code", sa.String(64), nullable=False, index=True),
        sa.Column("case_number", sa.String(200), nullable=False, index=True),
        sa.Column("court", sa.String(300), nullable=False),
        sa.Column("hearing_date", sa.String(10), nullable=False),
        _user("created_by"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "hearing_exhibits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "hearing_id", sa.Integer(), sa.ForeignKey("hearings.id"), nullable=False, index=True
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("exhibit_number", sa.String(50), nullable=False),
        sa.Column("clip_id", sa.Integer(), sa.ForeignKey("clips.id"), nullable=True),
        sa.Column("diagram_id", sa.Integer(), sa.ForeignKey("diagrams.id"), nullable=True),
    )
    op.create_table(
        "presentation_states",
        sa.Column("hearing_id", sa.Integer(), sa.ForeignKey("hearings.id"), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("state", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "export_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(40), nullable=False, index=True),
        sa.Column("clip_id", sa.Integer(), sa.ForeignKey("clips.id"), nullable=True),
        sa.Column("unit_code", sa.String(64), nullable=False, index=True),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _user("requested_by"),
        _user("decided_by", nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("package", sa.String(300), nullable=False, server_default=""),
        sa.Column("package_sha256", sa.String(64), nullable=False, server_default=""),
    )


def downgrade() -> None:
    for table in (
        "export_requests",
        "presentation_states",
        "hearing_exhibits",
        "hearings",
        "diagram_layers",
        "diagrams",
        "clips",
    ):
        op.drop_table(table)
