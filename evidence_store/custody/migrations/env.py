"""Alembic environment: migrations run on the connection sealroom hands in."""

from alembic import context

from evidence_store.custody.schema import CustodyBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=CustodyBase.metadata,
    version_table="custody_alembic_version",
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
