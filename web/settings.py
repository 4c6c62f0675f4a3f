"""The ``[console]`` section of ``sealroom.toml``, and where the root command leaves it for
the console's commands."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SETTINGS_KEY = "sealroom.console"  # the key of the section in the command line's ctx.meta


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/console.db"
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File holding the session-signing key. Default: "
        "$SEALROOM_SECRET_KEY, else <data_dir>/console-secret, generated once (0600)",
    )
    secure_cookies: bool = Field(
        default=True,
        description="Send cookies over HTTPS only (browsers also accept them "
        "from http://localhost and 127.0.0.1, for a console on the same machine)",
    )
    default_language: str = Field(default="vi", pattern="^(vi|en)$")
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="for displaying times")
    max_failed_logins: int = Field(
        default=5, ge=1, le=50, description="failures before the account locks"
    )
    login_attempts_per_minute: int = Field(
        default=60,
        ge=1,
        le=10_000,
        description="login attempts accepted from one address per "
        "minute, over all usernames (the lockout counts per account)",
    )
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    custody_checkpoint_seconds: float = Field(
        default=1.0,
        ge=0.0,
        le=60.0,
        description="at most one custody checkpoint per this many seconds (0: after every event)",
    )
    page_size: int = Field(default=25, ge=5, le=200)
    recorder_token_file: Path | None = Field(
        default=None,
        description="Bearer token for the room recorders' control API; "
        "default $SEALROOM_RECORDER_TOKEN",
    )
    exports_need_approval: bool = Field(
        default=True,
        description="an export asked for in the console waits for a supervisor's approval",
    )
    run_jobs: bool = Field(
        default=True,
        description="this console runs background jobs (export builds, the catalog's "
        "reconcile) itself, as on one machine; turn off where `sealroom worker` runs them",
    )
    reconcile_minutes: float = Field(
        default=10.0,
        ge=0.1,
        le=24 * 60,
        description="how often the job runner reconciles the catalog with the store and "
        "the bucket (what the rooms' events missed)",
    )


def settings_in(meta: Mapping[str, Any]) -> ConsoleSettings:
    """The section the root command loaded into ``meta`` (click's ``ctx.meta``), or every
    default when it loaded none."""
    settings: ConsoleSettings | None = meta.get(SETTINGS_KEY)
    return settings or ConsoleSettings()
