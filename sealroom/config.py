"""``sealroom.toml``: one file, a section per package, each a frozen, validated model."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evidence_store import DatabaseSettings, EvidenceSettings, UsageError, first_error
from recorder import RecorderSettings
from recorder.room import RoomProfile
from web import ConsoleSettings
from witness import WitnessSettings


class SealroomConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    recorder: RecorderSettings = Field(default_factory=RecorderSettings)
    rooms: dict[str, RoomProfile] = Field(
        default_factory=dict, description='room profiles, by room name: [rooms."Phòng 1"]'
    )
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    witness: WitnessSettings = Field(
        default_factory=WitnessSettings, description="the off-box witness (a central site)"
    )
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings,
        description="the database every central process shares: the console, custody, the "
        "catalog, the worker and the witness (else SQLite in each data directory)",
    )

    def central(self) -> SealroomConfig:
        """This configuration with the shared database (``[database]`` or
        ``$SEALROOM_DATABASE_URL``) filled in for the console, custody and the catalog,
        wherever no URL of their own is set (the witness reads ``database`` itself)."""
        url = self.database.shared_url()
        return self.model_copy(
            update={
                "evidence": self.evidence.with_shared_database(url),
                "console": self.console.with_shared_database(url),
            }
        )


def load_config(path: Path | None) -> SealroomConfig:
    """Read and validate the config file; no file means every default."""
    if path is None:
        return SealroomConfig().central()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path} is not valid TOML: {exc}") from exc
    try:
        loaded = SealroomConfig.model_validate(document)
    except ValidationError as exc:
        raise UsageError(f"config {path}: {first_error(exc)}") from exc
    return loaded.central()
