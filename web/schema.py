"""Bringing the console's database to the newest schema with Alembic.

Works on SQLite (the embedded default) and PostgreSQL: migrations use batch mode, which
SQLite needs for ALTER TABLE.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine

from evidence_store.upgrades import upgrade_to_head

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade_database(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        upgrade_to_head(config)
