"""`[database] url` / `$SEALROOM_DATABASE_URL`: one database for every central process (the
console, custody and the catalog), SQLite in the data directory when none is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_store import DatabaseSettings, UsageError
from sealroom.config import load_config
from witness import DatabaseSettings as WitnessDatabase
from witness.settings import database_url

SHARED = "postgresql+psycopg://sealroom@db.example/sealroom"


def test_the_shared_url_reaches_the_console_custody_and_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEALROOM_DATABASE_URL", raising=False)
    config = tmp_path / "sealroom.toml"
    config.write_text(f'[database]\nurl = "{SHARED}"\n')
    loaded = load_config(config)
    assert loaded.console.database_url == SHARED
    assert loaded.evidence.custody_database_url == SHARED
    assert loaded.evidence.session_index_url == SHARED


def test_the_environment_wins_over_the_file_and_a_database_of_its_own_wins_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = "sqlite:////var/lib/sealroom/custody.db"
    config = tmp_path / "sealroom.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///ignored.db"\n[evidence]\ncustody_database_url = "{own}"\n'
    )
    monkeypatch.setenv("SEALROOM_DATABASE_URL", SHARED)
    loaded = load_config(config)
    assert loaded.console.database_url == SHARED
    assert loaded.evidence.session_index_url == SHARED
    assert loaded.evidence.custody_database_url == own


def test_without_a_shared_database_each_keeps_its_embedded_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SEALROOM_DATABASE_URL", raising=False)
    loaded = load_config(None)
    assert loaded.console.database_url is None
    assert loaded.evidence.custody_database_url is None
    assert loaded.evidence.session_index_url is None


def test_a_url_file_keeps_the_password_out_of_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEALROOM_DATABASE_URL", raising=False)
    secret = tmp_path / "database-url"
    secret.write_text("postgresql+psycopg://sealroom:s3cret@db/sealroom\n")
    config = tmp_path / "sealroom.toml"
    config.write_text(f'[database]\nurl_file = "{secret}"\n')
    assert load_config(config).console.database_url == secret.read_text().strip()
    secret.unlink()
    with pytest.raises(UsageError, match="cannot read the database URL"):
        load_config(config)


def test_one_database_section_for_the_witness_too_with_the_stricter_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The witness had a `[database]` of its own (a URL); the site's has a URL file as well,
    and refuses an unreadable or empty one. One section now, the stricter rules for all."""
    monkeypatch.delenv("SEALROOM_DATABASE_URL", raising=False)
    assert WitnessDatabase is DatabaseSettings
    secret = tmp_path / "database-url"
    secret.write_text(SHARED + "\n")
    config = tmp_path / "sealroom.toml"
    config.write_text(f'[database]\nurl_file = "{secret}"\n')
    loaded = load_config(config)
    assert database_url(loaded.database, tmp_path) == SHARED == loaded.console.database_url
    assert database_url(DatabaseSettings(), tmp_path) == f"sqlite:///{tmp_path / 'witness.db'}"
    secret.write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        database_url(loaded.database, tmp_path)
