"""The ``[console]`` section of ``sealroom.toml``, and where the root command leaves it for
the console's commands."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SETTINGS_KEY = "sealroom.console"  # the key of the section in the command line's ctx.meta
ROLES = ("investigator", "prosecutor", "court_clerk", "supervisor", "auditor", "admin")


class DirectorySettings(BaseModel):
    """``[console.directory]``: log in with LDAP / Active Directory accounts beside the local
    ones. Directory groups give the role and the unit; the password stays in the directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="ldap://host:389 or ldaps://host:636")
    start_tls: bool = Field(default=False, description="upgrade an ldap:// connection to TLS")
    ca_file: Path | None = Field(default=None, description="CA certificate(s) to check the server")
    bind_dn: str | None = Field(
        default=None, description="service account to search with; default: anonymous search"
    )
    bind_password_file: Path | None = Field(
        default=None,
        description="file holding the service account's password; "
        "default $SEALROOM_LDAP_BIND_PASSWORD",
    )
    user_base: str = Field(description="where accounts are searched, e.g. ou=people,dc=vks,dc=vn")
    user_filter: str = Field(
        default="(uid={username})",
        description="finds the account; {username} is escaped. AD: (sAMAccountName={username})",
    )
    disabled_filter: str | None = Field(
        default=None,
        description="an account matching it is disabled, e.g. (pwdAccountLockedTime=*) or, "
        "for AD, (userAccountControl:1.2.840.113556.1.4.803:=2)",
    )
    group_base: str = Field(description="where groups are searched")
    group_filter: str = Field(
        default="(member={dn})", description="the account's groups; {dn} is the account's DN"
    )
    role_groups: dict[str, str] = Field(
        description="group DN -> console role; an account in none of them cannot log in"
    )
    unit_groups: dict[str, str] = Field(
        description="group DN -> unit code; an account in none of them cannot log in"
    )
    timeout_seconds: float = Field(default=3.0, gt=0, le=30)

    @field_validator("url")
    @classmethod
    def _ldap_url(cls, url: str) -> str:
        if not url.startswith(("ldap://", "ldaps://")):
            raise ValueError("must start with ldap:// or ldaps://")
        return url

    @field_validator("role_groups")
    @classmethod
    def _known_roles(cls, groups: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(groups.values()) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; one of {', '.join(ROLES)}")
        return groups


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
        default=5,
        ge=1,
        le=50,
        description="failures of one username from one address before that pair must wait",
    )
    backoff_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="the first wait; it doubles with every further failure of the pair",
    )
    login_attempts_per_minute: int = Field(
        default=60,
        ge=1,
        le=10_000,
        description="login attempts accepted from one address per "
        "minute, over all usernames (the lockout counts per account)",
    )
    lockout_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="the longest wait after failed logins"
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="a login unused this long ends"
    )
    session_absolute_hours: int = Field(
        default=12, ge=1, le=7 * 24, description="a login ends this long after it began"
    )
    two_person_rule: bool = Field(
        default=True,
        description="creating or promoting an administrator or an account that can read "
        "evidence, giving one a new unit, and an administrator setting a password wait for a "
        "second administrator's approval",
    )
    min_password_score: int = Field(
        default=3,
        ge=0,
        le=4,
        description="the least strength (zxcvbn's 0-4 scale) a new password must have, "
        "beside 12+ characters, no common password and no username",
    )
    directory: DirectorySettings | None = Field(
        default=None, description="LDAP / Active Directory login ([console.directory])"
    )
    diagram_conversions: int = Field(
        default=2,
        ge=1,
        le=16,
        description="uploads converted at once; more wait their turn (each may use 2 GiB)",
    )
    page_size: int = Field(default=25, ge=5, le=200)
    database_notifications: bool = Field(
        default=True,
        description="on PostgreSQL, court screens follow changes made on other console "
        "replicas through LISTEN/NOTIFY; turn off behind a pooler that drops LISTEN "
        "(PgBouncer in transaction mode): screens then poll every second",
    )
    stream_keepalive_seconds: float = Field(
        default=15.0,
        ge=1,
        le=60,
        description="a court screen's stream sends a comment this often, so proxies keep an "
        "idle stream open and the console notices a screen that went away (and frees its slot)",
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
