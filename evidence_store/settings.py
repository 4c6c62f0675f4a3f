"""Configuration of the evidence side: where the data lives, the device key, the trust roots.

These are the ``[evidence]`` and ``[evidence.signing]`` sections of ``sealroom.toml``.
Secrets never live here: the key is named by its file path, never written inline.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


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


def default_data_dir() -> Path:
    return Path(os.environ.get("SEALROOM_DATA_DIR") or "sealroom-data")
