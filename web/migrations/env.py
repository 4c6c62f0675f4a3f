"""Alembic environment for the console: runs on the connection handed in."""

from alembic import context

from web.extensions import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table="console_alembic_version",
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
