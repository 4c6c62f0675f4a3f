"""Configuration of the evidence side: where the data lives, the device key, the trust roots,
the object store and its uploader.

These are the ``[evidence]``, ``[evidence.signing]``, ``[evidence.s3]``,
``[evidence.s3.retention]``, ``[evidence.uploader]`` and ``[evidence.timestamping]``
sections of ``sealroom.toml`` (``[evidence]`` also names the off-box witness:
``witness_url``, ``witness_key``), and the top-level ``[database]`` section that every
central process shares.
Secrets never live here: the key is named by its file path, never written inline, and the
object store's credentials come from the environment or from files named here.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evidence_store.errors import UsageError


class SigningSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key_file: Path | None = Field(
        default=None,
        description="PEM private key (Ed25519 or ECDSA P-256). Default: "
        "<data_dir>/keys/device.key, created with a local root on first use.",
    )
    certificate_file: Path | None = Field(default=None, description="PEM device certificate")
    chain_file: Path | None = Field(default=None, description="PEM intermediate certificates")
    device_name: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=100,
        description="the appliance's name, used in a generated certificate",
    )


class CategoryRule(BaseModel):
    """Puts a session in a case category when its metadata matches (first rule wins)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str = Field(min_length=1, description="a key of [evidence.s3.retention] categories")
    case_number: str | None = Field(
        default=None, description="regular expression searched in the case number"
    )
    unit: str | None = Field(default=None, description="regular expression searched in the unit")
    room: str | None = Field(default=None, description="regular expression searched in the room")

    @model_validator(mode="after")
    def _patterns_compile(self) -> Self:
        for name in ("case_number", "unit", "room"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{name} is not a regular expression: {exc}") from exc
        if self.case_number is None and self.unit is None and self.room is None:
            raise ValueError("a rule matches on at least one of case_number, unit, room")
        return self


class RetentionSettings(BaseModel):
    """COMPLIANCE retention per case category. Retention runs from the session's start (link
    0), so every object of a session is locked until the same moment, however late it leaves
    the room. Lengthening a category later extends what is uploaded from then on; retention
    already set can only ever be extended, never shortened (that is what COMPLIANCE means)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_category: str = Field(default="default", min_length=1)
    categories: dict[str, int] = Field(
        default_factory=lambda: {"default": 3650},
        description="category name -> retention in days (1 to 36500). Set it from the "
        "unit's archive rules; 3650 (ten years) is only a placeholder.",
    )
    rules: list[CategoryRule] = Field(default_factory=list)
    custody_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="retention of custody checkpoints; default: the default category's",
    )

    @model_validator(mode="after")
    def _categories_are_known(self) -> Self:
        if self.default_category not in self.categories:
            raise ValueError(f"default_category {self.default_category!r} is not in categories")
        for name, days in self.categories.items():
            if not 1 <= days <= 36500:
                raise ValueError(f"category {name!r}: retention must be 1 to 36500 days")
        for rule in self.rules:
            if rule.category not in self.categories:
                raise ValueError(f"rule names unknown category {rule.category!r}")
        return self


class S3Settings(BaseModel):
    """The object store (MinIO, or any S3 server with Object Lock).

    The environment alone is enough, and wins over the file: ``SEALROOM_S3_ENDPOINT``
    (host:port), ``SEALROOM_S3_ACCESS_KEY``, ``SEALROOM_S3_SECRET_KEY``,
    ``SEALROOM_S3_BUCKET``, ``SEALROOM_S3_SECURE`` (0 or 1).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str | None = Field(default=None, description="host:port of the S3 API")
    bucket: str | None = Field(default=None, description="a bucket created with Object Lock")
    secure: bool = Field(default=True, description="TLS; turn off only on a test loopback")
    region: str | None = Field(default=None)
    ca_file: Path | None = Field(
        default=None, description="PEM CA bundle for the server's TLS certificate"
    )
    access_key_file: Path | None = Field(
        default=None, description="file holding the access key (else $SEALROOM_S3_ACCESS_KEY)"
    )
    secret_key_file: Path | None = Field(
        default=None, description="file holding the secret key (else $SEALROOM_S3_SECRET_KEY)"
    )
    part_size_mib: int = Field(
        default=16,
        ge=5,
        le=5120,
        description="objects larger than this go multipart, in parts of this size",
    )
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    read_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    def with_environment(self, environ: Mapping[str, str] | None = None) -> S3Settings:
        """These settings with ``SEALROOM_S3_*`` applied over them (secrets are not fields:
        see ``s3_credentials``)."""
        env = os.environ if environ is None else environ
        changes: dict[str, object] = {}
        if env.get("SEALROOM_S3_ENDPOINT"):
            changes["endpoint"] = env["SEALROOM_S3_ENDPOINT"]
        if env.get("SEALROOM_S3_BUCKET"):
            changes["bucket"] = env["SEALROOM_S3_BUCKET"]
        if env.get("SEALROOM_S3_SECURE"):
            value = env["SEALROOM_S3_SECURE"].strip()
            if value not in {"0", "1"}:
                raise UsageError(f"SEALROOM_S3_SECURE must be 0 or 1, not {value!r}")
            changes["secure"] = value == "1"
        return self.model_copy(update=changes)


def s3_credentials(
    settings: S3Settings, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(access key, secret key) from the environment, else from the configured files."""
    env = os.environ if environ is None else environ

    def one(variable: str, path: Path | None, what: str) -> str:
        if env.get(variable):
            return env[variable]
        if path is not None:
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UsageError(f"cannot read the S3 {what} from {path}: {exc.strerror}") from exc
            if value:
                return value
        raise UsageError(
            f"no S3 {what}: set {variable} or [evidence.s3] {what.replace(' ', '_')}_file"
        )

    return (
        one("SEALROOM_S3_ACCESS_KEY", settings.access_key_file, "access key"),
        one("SEALROOM_S3_SECRET_KEY", settings.secret_key_file, "secret key"),
    )


class UploaderSettings(BaseModel):
    """The uploader that drains the local store (the spool) into the object store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keep_days: float | None = Field(
        default=None,
        ge=0,
        description="release a sealed session's spool copy this many days after it was "
        "sealed, once every object is confirmed in the bucket; default: keep forever",
    )
    poll_seconds: float = Field(default=5.0, gt=0, le=3600, description="pause between passes")
    backoff_initial_seconds: float = Field(default=1.0, gt=0, le=600)
    backoff_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_bytes_per_second: int | None = Field(
        default=None, gt=0, description="cap on upload bandwidth (shared site links); none: no cap"
    )
    alarm_free_percent: float = Field(
        default=15.0,
        ge=0,
        le=100,
        description="alarm when the spool's filesystem has less than this share free",
    )
    alarm_free_bytes: int = Field(
        default=20 * 1024**3,
        ge=0,
        description="alarm when the spool's filesystem has fewer bytes free than this",
    )
    alarm_backlog_age_seconds: float = Field(
        default=3600.0, gt=0, description="alarm when the oldest object waiting is older"
    )


class CatalogSettings(BaseModel):
    """Where this appliance reports its sessions (the ``[evidence.catalog]`` section).

    Without a URL the catalog is this machine's own (``session_index_url``), written
    directly: one machine, embedded. With one, events go over HTTPS to the console's ingest
    endpoint, signed in as this room with its own credential (never one for every room).
    The environment wins over the file: ``SEALROOM_CATALOG_URL``, ``SEALROOM_CATALOG_ROOM``,
    ``SEALROOM_CATALOG_TOKEN`` (the credential itself; else ``token_file``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = Field(
        default=None, description="the console's address, e.g. https://console.example"
    )
    room: str | None = Field(default=None, description="the room code this appliance reports as")
    token_file: Path | None = Field(
        default=None, description="file holding this room's catalog credential"
    )
    ca_file: Path | None = Field(
        default=None, description="PEM CA bundle for the console's TLS certificate"
    )

    def with_environment(self, environ: Mapping[str, str] | None = None) -> CatalogSettings:
        env = os.environ if environ is None else environ
        changes = {
            name: env[variable]
            for name, variable in (
                ("url", "SEALROOM_CATALOG_URL"),
                ("room", "SEALROOM_CATALOG_ROOM"),
            )
            if env.get(variable)
        }
        return self.model_copy(update=changes)

    def token(self, environ: Mapping[str, str] | None = None) -> str:
        """The room's credential: ``$SEALROOM_CATALOG_TOKEN``, else ``token_file``."""
        env = os.environ if environ is None else environ
        if env.get("SEALROOM_CATALOG_TOKEN"):
            return env["SEALROOM_CATALOG_TOKEN"].strip()
        if self.token_file is not None:
            try:
                value = self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UsageError(
                    f"cannot read the catalog credential {self.token_file}: {exc.strerror}"
                ) from exc
            if value:
                return value
        raise UsageError(
            "no catalog credential: set SEALROOM_CATALOG_TOKEN or [evidence.catalog] token_file"
        )


class TimestampingSettings(BaseModel):
    """How the RFC 3161 time-stamp authority (``[evidence] tsa_url``) is used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_seconds: float = Field(
        default=300.0,
        ge=1,
        le=86400,
        description="stamp the chain's head at most this often while recording (besides "
        "the start and the seal, which are always stamped)",
    )
    tolerance_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="how far the device's clock may be from the authority's before it is an "
        "alarm and a mark on the record; the request's round trip is allowed on top",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)


class OperationsSettings(BaseModel):
    """Running an installation: metrics, scrubbing, and what ``sealroom doctor`` checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metrics_host: str = Field(
        default="127.0.0.1",
        description="where --metrics-port listens; the metrics name rooms and cases' "
        "volumes, so keep them on loopback or behind the scraper's network",
    )
    scrub_bytes_per_second: int = Field(
        default=32 * 1024 * 1024,
        gt=0,
        description="how fast scrubbing reads stored evidence (it shares the disk and link "
        "with recording and uploading)",
    )
    scrub_interval_hours: float = Field(
        default=24.0, gt=0, le=24 * 365, description="a scrub pass starts this long after the last"
    )
    filer_ports: list[int] = Field(
        default_factory=lambda: [8888, 18888],
        description="SeaweedFS filer ports that must not be reachable on the object store's "
        "host (the filer bypasses Object Lock); `sealroom doctor` checks them",
    )


class EvidenceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path | None = Field(
        default=None, description="Default: $SEALROOM_DATA_DIR, then ./sealroom-data"
    )
    trust_roots: list[Path] = Field(
        default_factory=list,
        description="PEM files or directories of trusted root "
        "certificates or public keys, in addition to <data_dir>/trust",
    )
    custody_database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/custody.db"
    )
    signing: SigningSettings = Field(default_factory=SigningSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    uploader: UploaderSettings = Field(default_factory=UploaderSettings)
    session_index_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the session index (the console's, rebuilt by "
        "`sealroom reindex`); default sqlite:///<data_dir>/session-index.db",
    )
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    witness_url: str | None = Field(
        default=None,
        description="the off-box witness every signed head is sent to, http(s)://host:port; "
        "$SEALROOM_WITNESS_URL wins; none: nothing is witnessed",
    )
    witness_key: Path | None = Field(
        default=None,
        description="the witness's public key or certificate (PEM), trusted for its receipts, "
        "besides $SEALROOM_WITNESS_KEY and <data_dir>/trust/witness/*.pem",
    )
    witness_timeout_seconds: float = Field(
        default=5.0, gt=0, le=120, description="how long one request to the witness may take"
    )
    witness_late_seconds: float | None = Field(
        default=None,
        gt=0,
        description="a receipt received later than this after its head was signed is flagged "
        "LATE by `sealroom verify`; none: segment_seconds + 15 s",
    )
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 time-stamp authority (http or https URL); $SEALROOM_TSA_URL wins",
    )
    tsa_ca: Path | None = Field(
        default=None,
        description="PEM: the authority's root certificate (and any intermediates) that "
        "every token must chain to; $SEALROOM_TSA_CA wins",
    )
    timestamping: TimestampingSettings = Field(default_factory=TimestampingSettings)
    group_readable: bool = Field(
        default=False,
        description="let the data directory's group read it (directories 0750, files 0640 or "
        "0440); default: its owner only (0700, 0600 or 0400)",
    )
    operations: OperationsSettings = Field(default_factory=OperationsSettings)

    def with_shared_database(self, url: str | None) -> EvidenceSettings:
        """These settings with the shared database (``[database]``) for custody and the
        session index, where no URL of their own is set."""
        if url is None:
            return self
        return self.model_copy(
            update={
                "custody_database_url": self.custody_database_url or url,
                "session_index_url": self.session_index_url or url,
            }
        )


DATABASE_URL_ENV = "SEALROOM_DATABASE_URL"


class DatabaseSettings(BaseModel):
    """The ``[database]`` section: the one database every central process shares (the
    console, the catalog, custody, the witness, the worker). Without it each keeps SQLite in
    its data directory, the embedded default of one machine.

    ``$SEALROOM_DATABASE_URL`` wins over the file. Keep the password out of the URL: libpq
    reads ``PGPASSFILE``/``PGPASSWORD``, or name a file holding the whole URL (``url_file``).
    A key of one database (``[console] database_url``, ``[evidence] custody_database_url``,
    ``[evidence] session_index_url``) still wins for that one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = Field(
        default=None, description="SQLAlchemy URL, e.g. postgresql+psycopg://sealroom@db/sealroom"
    )
    url_file: Path | None = Field(
        default=None, description="file holding the URL (when it carries a password)"
    )

    def shared_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The shared database's URL: the environment, the file's key, the named file, or
        None (each process keeps its own SQLite)."""
        env = os.environ if environ is None else environ
        if env.get(DATABASE_URL_ENV, "").strip():
            return env[DATABASE_URL_ENV].strip()
        if self.url:
            return self.url
        if self.url_file is not None:
            try:
                value = self.url_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UsageError(
                    f"cannot read the database URL from {self.url_file}: {exc.strerror}"
                ) from exc
            if not value:
                raise UsageError(f"the database URL file {self.url_file} is empty")
            return value
        return None


def default_data_dir() -> Path:
    return Path(os.environ.get("SEALROOM_DATA_DIR") or "sealroom-data")
