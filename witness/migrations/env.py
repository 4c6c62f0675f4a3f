"""Alembic environment: migrations run on the connection the witness hands in."""

from alembic import context

from witness.schema import WitnessBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=WitnessBase.metadata,
    version_table="witness_alembic_version",
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
