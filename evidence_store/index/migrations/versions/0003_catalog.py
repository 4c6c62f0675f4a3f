"""The session index becomes the catalog fed by the rooms' events.

New columns: a stable integer key (``id``), the search keys (``*_key``, the one normalised
form of ``search_text``), and what keeps event-fed rows moving only forward (``links``,
``location``, ``reported_by``). The rows already there are copied across with their keys
computed; they have no chain length yet (0), so any event about them is newer.

Substring search is indexed: on PostgreSQL by trigram GIN indexes (``pg_trgm``; without the
right to create the extension, search still works, by scanning), on SQLite by an FTS5
trigram table that triggers keep in step with the rows.

Revision ID: 0003
Revises: 0002
"""

import json
import logging

import sqlalchemy as sa
from alembic import op

from evidence_store.index.schema import KEY_COLUMNS, SEARCH_TABLE
from evidence_store.index.search_text import list_key, search_key

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("sealroom.catalog")
OLD = "session_index_0002"
BATCH = 1000
OLD_COLUMNS = [
    "session_id",
    "state",
    "unit",
    "room",
    "case_number",
    "accused",
    "investigators",
    "session_metadata",
    "started_at",
    "ended_at",
    "duration_us",
    "segments",
    "media_bytes",
    "head",
    "problem",
    "category",
    "retain_until",
    "indexed_at",
    "witnessed",
]


def _create_table() -> None:
    op.create_table(
        "session_index",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(40), nullable=False, unique=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("unit", sa.String(200), nullable=True, index=True),
        sa.Column("room", sa.String(200), nullable=True),
        sa.Column("case_number", sa.String(200), nullable=True),
        sa.Column("accused", sa.Text(), nullable=False),
        sa.Column("investigators", sa.Text(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False, server_default="") for name in KEY_COLUMNS),
        sa.Column("session_metadata", sa.Text(), nullable=True),
        sa.Column("started_at", sa.String(27), nullable=True),
        sa.Column("ended_at", sa.String(27), nullable=True),
        sa.Column("duration_us", sa.BigInteger(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("media_bytes", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(64), nullable=True),
        sa.Column("links", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("location", sa.String(10), nullable=False, server_default="spool"),
        sa.Column("reported_by", sa.String(64), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("retain_until", sa.String(27), nullable=True),
        sa.Column("indexed_at", sa.String(27), nullable=False),
        sa.Column("witnessed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def _newest_first(bind: sa.engine.Connection) -> None:
    """The list's order (newest first, sessions without a start last) straight from an index,
    so a page costs the same however many rows there are."""
    nulls = " NULLS LAST" if bind.dialect.name == "postgresql" else ""  # SQLite's DESC default
    op.execute(
        f"CREATE INDEX ix_session_index_newest ON session_index (started_at DESC{nulls}, "
        "session_id)"
    )


# SQLite: the key columns in an FTS5 trigram table that points at rows by ``id``, kept in
# step by triggers. Spelt out whole: these are the schema, not queries built from input.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE session_index_search USING fts5(case_key, accused_key, "
    "investigators_key, room_key, content='session_index', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER session_index_search_insert AFTER INSERT ON session_index BEGIN "
    "INSERT INTO session_index_search(rowid, case_key, accused_key, investigators_key, "
    "room_key) VALUES (new.id, new.case_key, new.accused_key, new.investigators_key, "
    "new.room_key); END",
    "CREATE TRIGGER session_index_search_delete AFTER DELETE ON session_index BEGIN "
    "INSERT INTO session_index_search(session_index_search, rowid, case_key, accused_key, "
    "investigators_key, room_key) VALUES ('delete', old.id, old.case_key, old.accused_key, "
    "old.investigators_key, old.room_key); END",
    "CREATE TRIGGER session_index_search_update AFTER UPDATE OF case_key, accused_key, "
    "investigators_key, room_key ON session_index BEGIN "
    "INSERT INTO session_index_search(session_index_search, rowid, case_key, accused_key, "
    "investigators_key, room_key) VALUES ('delete', old.id, old.case_key, old.accused_key, "
    "old.investigators_key, old.room_key); "
    "INSERT INTO session_index_search(rowid, case_key, accused_key, investigators_key, "
    "room_key) VALUES (new.id, new.case_key, new.accused_key, new.investigators_key, "
    "new.room_key); END",
)


def _search_index(bind: sa.engine.Connection) -> None:
    if bind.dialect.name == "sqlite":
        assert SEARCH_TABLE == "session_index_search" and KEY_COLUMNS == (
            "case_key",
            "accused_key",
            "investigators_key",
            "room_key",
        )
        for statement in SQLITE_SEARCH:
            op.execute(statement)
        return
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.warning("no pg_trgm (%s): catalog search will scan instead of using an index", exc)
        return
    for name in KEY_COLUMNS:
        op.execute(
            f"CREATE INDEX ix_session_index_{name}_trgm ON session_index "
            f"USING gin ({name} gin_trgm_ops)"
        )


def _copy_rows(bind: sa.engine.Connection) -> None:
    old = sa.table(OLD, *(sa.column(name) for name in OLD_COLUMNS))
    new = sa.table("session_index", *(sa.column(c) for c in [*old.c.keys(), *KEY_COLUMNS]))
    last = ""
    while True:
        rows = bind.execute(
            sa.select(old).where(old.c.session_id > last).order_by(old.c.session_id).limit(BATCH)
        ).mappings()
        batch = [dict(row) for row in rows]
        if not batch:
            return
        for row in batch:
            row["case_key"] = search_key(row["case_number"] or "")
            row["room_key"] = search_key(row["room"] or "")
            row["accused_key"] = list_key(json.loads(row["accused"] or "[]"))
            row["investigators_key"] = list_key(json.loads(row["investigators"] or "[]"))
        bind.execute(sa.insert(new), batch)
        last = batch[-1]["session_id"]


def upgrade() -> None:
    bind = op.get_bind()
    op.rename_table("session_index", OLD)
    primary_key = sa.inspect(bind).get_pk_constraint(OLD).get("name")
    if bind.dialect.name == "postgresql" and primary_key:  # its name would clash with the new
        op.execute(f'ALTER TABLE {OLD} RENAME CONSTRAINT "{primary_key}" TO {OLD}_pkey')
    for index in sa.inspect(bind).get_indexes(OLD):
        if index["name"]:
            op.drop_index(index["name"], table_name=OLD)
    _create_table()
    _newest_first(bind)
    _search_index(bind)
    _copy_rows(bind)
    op.drop_table(OLD)


def downgrade() -> None:
    raise NotImplementedError("the catalog is not downgraded: rebuild it with reconcile")
