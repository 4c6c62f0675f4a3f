"""One installation's data directory and what lives in it.

<data_dir>/evidence/   the write-once store (sessions/..., custody/checkpoints/...)
<data_dir>/keys/       the device key (0600) and its certificate
<data_dir>/trust/      trust roots: CA certificates or pinned public keys (PEM)
<data_dir>/trust/witness/  the off-box witness's public key (PEM): trusted for its receipts
<data_dir>/outbox/     what waits to leave the box (evidence_store.outbox), by destination
<data_dir>/custody.db  the custody log (SQLite, unless a database URL is configured)
<data_dir>/custody-journal.jsonl  custody events waiting while that database is damaged

Nothing in it is for other local users (``evidence_store.installation.permissions``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evidence_store.custody import JOURNAL_NAME, CustodyJournal, CustodyLog
from evidence_store.errors import UsageError
from evidence_store.installation.permissions import (
    OpenPath,
    Permissions,
    restrict_new_files,
    secure_installation,
)
from evidence_store.outbox import Outbox
from evidence_store.settings import EvidenceSettings, default_data_dir
from evidence_store.signing import (
    DeviceSigner,
    TrustStore,
    ensure_device_identity,
    existing_device_identity,
)
from evidence_store.store import FilesystemStore
from evidence_store.timestamping import TSA_OUTBOX, Stamper, TsaConfig, tsa_config

WITNESS_KEY_ENV = "SEALROOM_WITNESS_KEY"


@dataclass(frozen=True)
class DataDir:
    root: Path
    settings: EvidenceSettings

    @classmethod
    def resolve(cls, explicit: Path | None, settings: EvidenceSettings | None = None) -> DataDir:
        settings = settings or EvidenceSettings()
        return cls((explicit or settings.data_dir or default_data_dir()).absolute(), settings)

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def permissions(self) -> Permissions:
        """Who may read the installation's files (``[evidence] group_readable``)."""
        return Permissions(group_readable=self.settings.group_readable)

    def restrict_new_files(self) -> None:
        """Create nothing more open than the policy from now on (the process's umask)."""
        restrict_new_files(self.permissions)

    def secure(self) -> list[OpenPath]:
        """At a service's start: the umask, and an installation open to others tightened
        with a warning (see ``evidence_store.installation.permissions``)."""
        return secure_installation(self.root, self.permissions)

    def tsa(self) -> TsaConfig | None:
        """The time-stamp authority configured (environment first), if any."""
        return tsa_config(self.settings)

    def stamper(self, config: TsaConfig | None = None) -> Stamper | None:
        """What queues time-stamp requests in ``outbox/tsa``, when an authority stamps."""
        config = config or self.tsa()
        if config is None or not config.stamping:
            return None
        return Stamper(
            Outbox(self.outbox_root, TSA_OUTBOX), interval_seconds=config.timing.interval_seconds
        )

    def store(self, *, create: bool = False) -> FilesystemStore:
        if not create and not self.evidence.is_dir():
            raise UsageError(
                f"no sealroom data in {self.root} (set --data-dir or SEALROOM_DATA_DIR)"
            )
        if create:
            FilesystemStore.open(self.root, create=True)  # fails early if not writable
        return FilesystemStore.open(self.evidence, create=create)

    def signer(self) -> DeviceSigner:
        """The installation's signing identity; on first use, without a configured key, a new
        device key and a local root are made. Never for a path that only reads or verifies:
        those take ``existing_signer``."""
        signing = self.settings.signing
        if signing.key_file is not None:
            return DeviceSigner.load(
                signing.key_file, cert_file=signing.certificate_file, chain_file=signing.chain_file
            )
        return ensure_device_identity(
            self.root / "keys", self.root / "trust", device_name=signing.device_name
        )

    def existing_signer(self) -> DeviceSigner | None:
        """The signing identity if the installation has one; None otherwise. Creates
        nothing: verification may record custody with it, never make keys or trust roots."""
        signing = self.settings.signing
        if signing.key_file is not None:
            return DeviceSigner.load(
                signing.key_file, cert_file=signing.certificate_file, chain_file=signing.chain_file
            )
        return existing_device_identity(self.root / "keys")

    def trust(
        self, extra: list[Path] | None = None, *, witness_keys: list[Path] | None = None
    ) -> TrustStore:
        """The trust roots (``trust/``, configured, ``extra``), and the witness keys trusted
        for receipts (``trust/witness/``, ``[evidence] witness_key``, $SEALROOM_WITNESS_KEY,
        ``witness_keys``)."""
        paths = [
            p
            for p in [self.root / "trust", *self.settings.trust_roots, *(extra or [])]
            if p.exists()
        ]
        configured = os.environ.get(WITNESS_KEY_ENV)
        witnesses = [
            p
            for p in [
                self.witness_trust,
                self.settings.witness_key,
                Path(configured) if configured else None,
                *(witness_keys or []),
            ]
            if p is not None and p.exists()
        ]
        return TrustStore.from_paths(paths).with_witness_keys(witnesses)

    @property
    def witness_trust(self) -> Path:
        """Where the witness's key is pinned on first contact (``trust/witness/``)."""
        return self.root / "trust" / "witness"

    @property
    def outbox_root(self) -> Path:
        return self.root / "outbox"

    def index_url(self, explicit: str | None = None) -> str:
        """The session index's database: explicit, configured, else SQLite in the data dir."""
        if explicit or self.settings.session_index_url:
            return str(explicit or self.settings.session_index_url)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # e.g. a path below a regular file: the user's to fix
            raise UsageError(f"cannot create data directory {self.root}: {exc.strerror}") from exc
        return f"sqlite:///{self.root / 'session-index.db'}"

    @property
    def custody_url(self) -> str:
        """The custody log's database: configured, else SQLite in the data directory."""
        return self.settings.custody_database_url or f"sqlite:///{self.root / 'custody.db'}"

    @property
    def custody_journal(self) -> CustodyJournal:
        """Where custody events wait while the custody database is damaged."""
        return CustodyJournal(self.root / JOURNAL_NAME)

    def custody(self, store: FilesystemStore, signer: DeviceSigner) -> CustodyLog:
        """The custody log; with a time-stamp authority, each checkpoint is queued to be
        stamped (sent by whichever process drains ``outbox/tsa``). A damaged database never
        stops the caller: the log says so (``damage``) and journals events instead."""
        stamper = self.stamper()
        return CustodyLog.open(
            self.custody_url,
            store,
            signer,
            on_checkpoint=stamper.on_checkpoint if stamper else None,
            journal=self.custody_journal,
        )
