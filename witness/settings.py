"""Configuration of the witness: the ``[witness]`` section of ``sealroom.toml`` and the
``[database]`` section that names its database.

The witness is a central-site process. Its database is ``$SEALROOM_DATABASE_URL``, else
``[database] url``, else SQLite in its data directory; its data directory is ``--data-dir``,
else ``[witness] data_dir``, else ``$SEALROOM_WITNESS_DATA_DIR``, else ``./witness-data``.
Secrets never live here: the operators' token comes from a file named here or from
``$SEALROOM_WITNESS_TOKEN``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from evidence_store import DatabaseSettings, UsageError

SETTINGS_KEY = "sealroom.witness"  # where the shell leaves the section in ctx.meta
DATABASE_KEY = "sealroom.database"
DATA_DIR_ENV = "SEALROOM_WITNESS_DATA_DIR"
TOKEN_ENV = "SEALROOM_WITNESS_TOKEN"  # noqa: S105 -- the variable's name, not a secret
MIN_TOKEN_LENGTH = 16


class WitnessSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path | None = Field(
        default=None, description="Default: $SEALROOM_WITNESS_DATA_DIR, then ./witness-data"
    )
    host: str = Field(default="127.0.0.1", description="address `witness serve` listens on")
    port: int = Field(default=8760, ge=0, le=65535)
    name: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=100,
        description="the witness's name, in its certificate",
    )
    device_roots: list[Path] = Field(
        default_factory=list,
        description="PEM CA certificates: a device whose certificate chains to one is "
        "enrolled on its first submission without trust on first use",
    )
    stamp_minutes: float = Field(
        default=5.0,
        gt=0,
        le=24 * 60,
        description="a tree head is time-stamped by the TSA at most this often",
    )
    token_file: Path | None = Field(
        default=None,
        description="file holding the operators' bearer token (GET /alarms); "
        "default $SEALROOM_WITNESS_TOKEN; none: the route is closed",
    )
    max_request_kib: int = Field(
        default=16 * 1024,
        ge=16,
        le=64 * 1024,
        description="the largest submission: a seal lists every segment (12 h of 1 s "
        "segments is about 12 MiB in base64)",
    )


def witness_data_dir(explicit: Path | None, settings: WitnessSettings) -> Path:
    path = explicit or settings.data_dir or Path(os.environ.get(DATA_DIR_ENV) or "witness-data")
    return path.absolute()


def database_url(
    settings: DatabaseSettings, data_dir: Path, environ: Mapping[str, str] | None = None
) -> str:
    """The log's database: the site's one database (``[database]``, ``$SEALROOM_DATABASE_URL``
    winning), else SQLite in the witness's data directory."""
    return settings.shared_url(environ) or f"sqlite:///{data_dir / 'witness.db'}"


def operator_token(
    settings: WitnessSettings, environ: Mapping[str, str] | None = None
) -> str | None:
    """The operators' token, or None when none is set (their routes then refuse everyone)."""
    env = os.environ if environ is None else environ
    if settings.token_file is not None:
        try:
            token = settings.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(
                f"cannot read the witness token file {settings.token_file}: {exc.strerror}"
            ) from exc
    else:
        token = env.get(TOKEN_ENV, "").strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise UsageError(f"the witness's operator token needs {MIN_TOKEN_LENGTH}+ characters")
    return token
