"""Bringing the console's database to the newest schema with Alembic.

Works on SQLite (the embedded default) and PostgreSQL: migrations use batch mode, which
SQLite needs for ALTER TABLE.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade_database(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
