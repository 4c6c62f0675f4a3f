"""Which time-stamp authority, and how it is used: ``[evidence] tsa_url`` and ``tsa_ca`` (the
environment's ``SEALROOM_TSA_URL`` and ``SEALROOM_TSA_CA`` win), ``[evidence.timestamping]``.

A CA without a URL is a verifier's configuration: tokens are checked, nothing is stamped. A
URL without a CA is refused: a token that cannot be checked is not kept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from evidence_store.errors import UsageError
from evidence_store.settings import EvidenceSettings, TimestampingSettings
from evidence_store.timestamping.client import TsaClient
from evidence_store.timestamping.verifier import TokenVerifier


@dataclass(frozen=True)
class TsaConfig:
    url: str | None  # None: check tokens, stamp nothing
    ca_file: Path
    timing: TimestampingSettings

    @property
    def stamping(self) -> bool:
        return self.url is not None

    def verifier(self) -> TokenVerifier:
        return TokenVerifier.from_file(self.ca_file)

    def client(self) -> TsaClient:
        if self.url is None:
            raise UsageError("no time-stamp authority: set SEALROOM_TSA_URL or [evidence] tsa_url")
        return TsaClient(self.url, self.verifier(), timeout=self.timing.timeout_seconds)


def tsa_config(
    settings: EvidenceSettings, environ: Mapping[str, str] | None = None
) -> TsaConfig | None:
    """The configured authority, or None when there is none."""
    env = os.environ if environ is None else environ
    url = env.get("SEALROOM_TSA_URL") or settings.tsa_url
    ca = env.get("SEALROOM_TSA_CA") or settings.tsa_ca
    if url is None and ca is None:
        return None
    if ca is None:
        raise UsageError(
            "a time-stamp authority is set (SEALROOM_TSA_URL or [evidence] tsa_url) without "
            "its root: set SEALROOM_TSA_CA or [evidence] tsa_ca, so every token is checked"
        )
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageError(f"the time-stamp authority's URL is http or https, not {url!r}")
    return TsaConfig(url=url, ca_file=Path(ca), timing=settings.timestamping)


def token_verifier(
    settings: EvidenceSettings, environ: Mapping[str, str] | None = None
) -> TokenVerifier | None:
    """What checks tokens, when an authority's root is configured."""
    config = tsa_config(settings, environ)
    return None if config is None else config.verifier()
