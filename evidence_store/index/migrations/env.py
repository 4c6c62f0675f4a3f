"""Alembic environment of the session index: migrations run on the connection handed in.

Its own version table lets the index share a database with the console or the custody log.
"""

from alembic import context

from evidence_store.index.schema import IndexBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=IndexBase.metadata,
    version_table="session_index_alembic_version",
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
