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
    proxy_hops: int = Field(
        default=0,
        ge=0,
        le=3,
        description="reverse proxies in front of the console (nginx: 1); their "
        "X-Forwarded-For/-Proto give the client's address (throttling, custody) and scheme. "
        "Leave 0 when clients reach the console directly, or they could forge their address",
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
    database_notifications: bool = Field(
        default=True,
        description="on PostgreSQL, court screens follow changes made on other console "
        "replicas through LISTEN/NOTIFY; turn off behind a pooler that drops LISTEN "
        "(PgBouncer in transaction mode): screens then poll every second",
    )
    room_key_file: Path | None = Field(
        default=None,
        description="File holding the installation's room key, from which each room's "
        "recorder token is derived (`sealroom room-credential`); shared by the console "
        "replicas. Default: $SEALROOM_ROOM_KEY, else <data_dir>/room-key, generated once (0600)",
    )
    recorder_ca_file: Path | None = Field(
        default=None,
        description="The installation's CA certificate (`sealroom ca init`): a room's "
        "recorder must present a certificate from it naming the room. "
        "Default: <data_dir>/ca/ca.pem",
    )
    exports_need_approval: bool = Field(
        default=True,
        description="an export asked for in the console waits for a supervisor's approval",
    )

    def with_shared_database(self, url: str | None) -> ConsoleSettings:
        """These settings with the shared database (``[database]``) where none of its own
        is set."""
        if url is None or self.database_url:
            return self
        return self.model_copy(update={"database_url": url})


def settings_in(meta: Mapping[str, Any]) -> ConsoleSettings:
    """The section the root command loaded into ``meta`` (click's ``ctx.meta``), or every
    default when it loaded none."""
    settings: ConsoleSettings | None = meta.get(SETTINGS_KEY)
    return settings or ConsoleSettings()
