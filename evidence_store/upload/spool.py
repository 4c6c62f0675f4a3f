"""The local write-once store seen as the uploader's queue.

For each session it says which files may leave, in which order, and the digest each must
have — taken from what seals it, never from the file itself:

- a segment's digest is in its chain link; a link and its signature are proved by the
  signature (or by the next link's ``prev``), and, once the session is sealed, every file's
  digest is in ``SHA256SUMS``, which the signed manifest seals in turn;
- the certificate must be the one link 0 names; ``signer/chain.pem`` is sealed only by
  ``SHA256SUMS``, so it waits for the seal.

Order within a session (so the bucket is always a valid beginning of the session, which
verifies as *incomplete*, never as *tampered*): the signer's files, then for each link in
sequence its segment, the link, its signature; last ``signer/chain.pem``, ``SHA256SUMS``,
``SHA256SUMS.sig``, ``manifest.json``, ``manifest.sig``; and after everything, the
time-stamp tokens beside links and the manifest that are there (they arrive late, and no
seal lists them: each proves itself, and ``verify`` checks it).

A file whose bytes are not what its seal says is *damaged*: it is moved to the quarantine
with a reason file, never uploaded. When it cannot yet be told which of two files is damaged
(a link whose signature fails, with no later link or seal to decide), the session is *held*
at that point and an alarm raised. A sealed session whose every object is confirmed in the
bucket can be *released*: its spool copy leaves in one atomic rename, then is deleted.
Media left in the session's in-flight directory (an unfinished segment recovery could not
salvage, the original of one it did) was never uploaded: a release keeps it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from evidence_store import layout
from evidence_store.bucket import RetentionPolicy
from evidence_store.canonical import parse_canonical
from evidence_store.durable import fsync_directory
from evidence_store.errors import StoreError, TamperedError, VerificationError
from evidence_store.model import EventType, Link, Manifest
from evidence_store.session import INFLIGHT_BOOKKEEPING
from evidence_store.signing import (
    PublicKey,
    load_public_key,
    public_key_der,
    public_key_pem,
    verify_signature,
)
from evidence_store.store import FilesystemStore
from evidence_store.timefmt import format_utc, parse_utc, utc_now
from evidence_store.tokens import is_token, stamped_name
from evidence_store.upload.late import is_late_file

CHECKPOINTS = "custody/checkpoints/"
RELEASED = ".released"
SEALING = (layout.CHECKSUMS, layout.CHECKSUMS_SIG, layout.MANIFEST, layout.MANIFEST_SIG)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def device_prefix(key: PublicKey) -> str:
    """Where one appliance's custody checkpoints live in a bucket shared by many:
    ``custody/<first 16 hex of the SHA-256 of its public key>/``."""
    return f"custody/{sha256_hex(public_key_der(key))[:16]}/"


@dataclass(frozen=True)
class SpoolObject:
    """One object to upload: where it goes, where it is, and the digest its seal names."""

    key: str  # the bucket key
    size: int
    sha256: str
    retain_until: datetime
    path: Path | None  # None for an object made here (the device key of custody checkpoints)
    data: bytes | None = None  # small objects: the bytes already read and checked
    session_id: str | None = None
    mtime: float = 0.0  # when it was written locally (for the backlog's age)


@dataclass(frozen=True)
class Damage:
    """A spool file whose bytes are not what seals it."""

    key: str  # the spool key
    reason: str
    expected: str | None = None
    actual: str | None = None


@dataclass
class SessionPlan:
    session_id: str
    objects: list[SpoolObject] = field(default_factory=list)
    sealed: bool = False  # the seal checks out and its files are in ``objects``
    ended_at: datetime | None = None
    held: str | None = None  # why nothing after some point may leave yet
    damaged: list[Damage] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # sealed, yet not in the spool
    quarantined: list[str] = field(default_factory=list)  # sealed, but moved to quarantine
    # Files that join the session late (the witness's receipts): uploaded through the
    # ``bucket`` outbox (``upload.late``), listed here so a release confirms them too.
    late: list[SpoolObject] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Sealed, and every file of the session is in ``objects``: nothing else to send."""
        return (
            self.sealed
            and self.held is None
            and not self.damaged
            and not self.missing
            and not self.quarantined
        )


@dataclass(frozen=True)
class Release:
    """What releasing a session's spool copy removes, and what it keeps."""

    session_id: str
    removed: list[str]  # the session's files, every one confirmed in the bucket
    bookkeeping: list[str]  # in-flight bookkeeping (the writer's lock, notes), removed
    kept_in_flight: list[str]  # media in flight, never uploaded: kept

    def custody_detail(self) -> dict[str, Any]:
        """For the release's custody event: every file removed, grouped by folder (a long
        session has thousands), and what was kept."""
        groups: dict[str, list[str]] = {}
        for name in self.removed:
            folder, _, _ = name.rpartition("/")
            groups.setdefault(folder or ".", []).append(name)
        removed = {
            folder: names
            if len(names) <= 3
            else {"files": len(names), "first": names[0], "last": names[-1]}
            for folder, names in sorted(groups.items())
        }
        return {
            "removed": removed,
            "removed_in_flight": self.bookkeeping,
            "kept_in_flight": self.kept_in_flight,
        }


@dataclass(frozen=True)
class _Seal:
    digests: dict[str, str]
    ended_at: datetime
    bodies: dict[str, bytes]


class Spool:
    """The uploader's view of a data directory's ``evidence/`` store."""

    def __init__(
        self, store: FilesystemStore, policy: RetentionPolicy, *, quarantine_root: Path
    ) -> None:
        self.store = store
        self.policy = policy
        self.quarantine_root = quarantine_root

    # -- sessions --------------------------------------------------------------------------

    def session_ids(self) -> list[str]:
        return [
            name
            for name in self.store.list_children(layout.SESSIONS)
            if layout.SESSION_ID_RE.fullmatch(name)
        ]

    def _read(self, key: str) -> bytes:
        try:
            return self.store.path(key).read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read spool file {key}: {exc.strerror or exc}") from exc

    def _object(
        self, key: str, sha256: str, until: datetime, session_id: str | None, data: bytes | None
    ) -> SpoolObject:
        path = self.store.path(key)
        stat = path.stat()
        return SpoolObject(
            key=key,
            size=stat.st_size if data is None else len(data),
            sha256=sha256,
            retain_until=until,
            path=path,
            data=data,
            session_id=session_id,
            mtime=stat.st_mtime,
        )

    def plan(self, session_id: str) -> SessionPlan:
        """What of the session may be uploaded now, in order. Reads, never writes."""
        plan = SessionPlan(session_id)
        prefix = layout.session_prefix(session_id)
        files = {key[len(prefix) :] for key in self.store.list_keys(prefix)}
        if layout.link_name(0) not in files or layout.PUBLIC_KEY not in files:
            return plan  # being created: nothing to send yet
        link0_body = self._read(prefix + layout.link_name(0))
        try:
            link0 = Link.parse(link0_body, location=layout.link_name(0))
            public_body = self._read(prefix + layout.PUBLIC_KEY)
            public_key = load_public_key(public_body, location=layout.PUBLIC_KEY)
        except VerificationError as exc:
            plan.held = f"link 0 or the public key cannot be read ({exc}); check it by hand"
            return plan
        event = link0.event
        if event is None or event.type is not EventType.SESSION_STARTED or event.signer is None:
            plan.held = "link 0 does not start a session"
            return plan
        assert event.metadata is not None
        if sha256_hex(public_key_der(public_key)) != event.signer.public_key_sha256:
            plan.held = "the public key is not the one link 0 names"
            return plan
        until = self.policy.session_until(event.metadata, parse_utc(link0.time))
        seal, seal_problem = self._seal(prefix, files, public_key)
        sealed_digests = seal.digests if seal else None
        done: set[str] = set()

        def add(relative: str, sha256: str, data: bytes | None = None) -> None:
            plan.objects.append(self._object(prefix + relative, sha256, until, session_id, data))
            done.add(relative)

        def damaged(relative: str, reason: str, expected: str | None, actual: str | None) -> None:
            plan.damaged.append(Damage(prefix + relative, reason, expected, actual))
            done.add(relative)

        # The signer's files.
        public_sha = sha256_hex(public_body)
        if sealed_digests is not None and sealed_digests.get(layout.PUBLIC_KEY) != public_sha:
            plan.held = "SHA256SUMS disagrees with the public key that signs the session"
            return plan
        add(layout.PUBLIC_KEY, public_sha, public_body)
        if layout.CERTIFICATE in files:
            body = self._read(prefix + layout.CERTIFICATE)
            found = _certificate_sha256(body)
            if found is not None and found == event.signer.certificate_sha256:
                add(layout.CERTIFICATE, sha256_hex(body), body)
            else:
                damaged(
                    layout.CERTIFICATE,
                    "not the certificate link 0 names",
                    event.signer.certificate_sha256,
                    found,
                )
        elif event.signer.certificate_sha256 is not None:
            self._missing(plan, prefix + layout.CERTIFICATE)

        # The chain, link by link: segment, link, signature.
        seq = 0
        while layout.link_name(seq) in files:
            name, sig_name = layout.link_name(seq), layout.link_sig_name(seq)
            if sig_name not in files:
                if sealed_digests is not None:
                    self._missing(plan, prefix + sig_name)
                break  # the newest link, not signed yet: it will be
            body, signature = self._read(prefix + name), self._read(prefix + sig_name)
            link_ok, sig_ok, undecided = self._judge(
                prefix, files, seq, body, signature, public_key, sealed_digests
            )
            if undecided:
                plan.held = undecided
                return plan
            link = _parse_link(body, name) if link_ok else None
            if link is not None and link.segment is not None:
                relative = link.segment.path
                if relative in files:
                    add(relative, link.segment.sha256)
                else:
                    self._missing(plan, prefix + relative)
                    done.add(relative)
            if link_ok:
                add(name, sha256_hex(body), body)
            else:
                damaged(name, "does not match what seals it", None, sha256_hex(body))
            if sig_ok:
                add(sig_name, sha256_hex(signature), signature)
            else:
                reason = "does not verify its link" if link_ok else "its link is damaged"
                damaged(sig_name, reason, None, sha256_hex(signature))
            seq += 1

        if seal is None:
            if seal_problem:
                plan.held = seal_problem
            self._add_tokens(prefix, files, done, add)
            return plan
        # Sealed: whatever SHA256SUMS lists that the walk did not reach, then the seal.
        for relative, digest in sorted(seal.digests.items()):
            if relative in done:
                continue
            if relative not in files:
                self._missing(plan, prefix + relative)
            elif relative.startswith("segments/"):
                add(relative, digest)  # its link was damaged; SHA256SUMS still seals it
            else:
                body = self._read(prefix + relative)
                if sha256_hex(body) == digest:
                    add(relative, digest, body)
                else:
                    damaged(relative, "does not match SHA256SUMS", digest, sha256_hex(body))
        for relative in SEALING:
            add(relative, sha256_hex(seal.bodies[relative]), seal.bodies[relative])
        plan.sealed = True
        plan.ended_at = seal.ended_at
        late = sorted(f for f in files if is_late_file(f))
        for relative in late:
            body = self._read(prefix + relative)
            plan.late.append(
                self._object(prefix + relative, sha256_hex(body), until, session_id, body)
            )
        self._add_tokens(prefix, files, done | set(SEALING), add)
        strays = sorted(files - done - set(SEALING) - set(late))
        if strays:
            plan.held = f"{strays[0]} is in the spool but not in the sealed session"
        return plan

    def _add_tokens(
        self,
        prefix: str,
        files: set[str],
        done: set[str],
        add: Callable[[str, str, bytes | None], None],
    ) -> None:
        """The tokens beside files that may leave, in the order of those files."""
        for relative in sorted(f for f in files if is_token(f) and stamped_name(f) in done):
            body = self._read(prefix + relative)
            add(relative, sha256_hex(body), body)

    def _judge(
        self,
        prefix: str,
        files: set[str],
        seq: int,
        body: bytes,
        signature: bytes,
        key: PublicKey,
        sealed: dict[str, str] | None,
    ) -> tuple[bool, bool, str | None]:
        """(link good, signature good, why it cannot be told yet)."""
        name, sig_name = layout.link_name(seq), layout.link_sig_name(seq)
        if sealed is not None:
            return (
                sealed.get(name) == sha256_hex(body),
                sealed.get(sig_name) == sha256_hex(signature),
                None,
            )
        if _verifies(key, signature, body, name):
            return True, True, None
        # The link or its signature is damaged; the next link's prev says which.
        following = layout.link_name(seq + 1)
        if following in files and layout.link_sig_name(seq + 1) in files:
            next_body = self._read(prefix + following)
            next_sig = self._read(prefix + layout.link_sig_name(seq + 1))
            next_link = _parse_link(next_body, following)
            if next_link is not None and next_link.prev == sha256_hex(body):
                return True, False, None
            if next_link is not None and _verifies(key, next_sig, next_body, following):
                return False, False, None
        return (
            False,
            False,
            f"{name} and its signature disagree and nothing later tells which is damaged yet",
        )

    def _seal(
        self, prefix: str, files: set[str], key: PublicKey
    ) -> tuple[_Seal | None, str | None]:
        """The seal's digests if all four sealing files are there and check out."""
        if not all(name in files for name in SEALING):
            return None, None
        bodies = {name: self._read(prefix + name) for name in SEALING}
        problem = "the seal does not check out ({}); check the session with `sealroom verify`"
        if not _verifies(key, bodies[layout.MANIFEST_SIG], bodies[layout.MANIFEST], "manifest"):
            return None, problem.format("manifest.sig")
        if not _verifies(key, bodies[layout.CHECKSUMS_SIG], bodies[layout.CHECKSUMS], "sums"):
            return None, problem.format("SHA256SUMS.sig")
        try:
            manifest = Manifest.parse(bodies[layout.MANIFEST], location=layout.MANIFEST)
        except TamperedError:
            return None, problem.format("manifest.json")
        if manifest.checksums_sha256 != sha256_hex(bodies[layout.CHECKSUMS]):
            return None, problem.format("SHA256SUMS is not the one the manifest seals")
        digests = {}
        for line in bodies[layout.CHECKSUMS].decode("utf-8", "replace").splitlines():
            digest, _, relative = line.partition("  ")
            digests[relative] = digest
        return _Seal(digests, parse_utc(manifest.ended_at), bodies), None

    def _missing(self, plan: SessionPlan, key: str) -> None:
        if self.quarantined(key):
            plan.quarantined.append(key)
        else:
            plan.missing.append(key)

    # -- custody checkpoints ---------------------------------------------------------------

    def checkpoints(self, key: PublicKey, *, after: int) -> tuple[list[SpoolObject], list[str]]:
        """Custody checkpoints newer than ``after`` (each with its signature), preceded by the
        device key that signs them, under the appliance's own prefix; and the problems."""
        base = device_prefix(key)
        objects: list[SpoolObject] = []
        problems: list[str] = []
        for json_key in self.store.list_keys(CHECKPOINTS):
            if not json_key.endswith(".json"):
                continue
            seq = int(Path(json_key).stem) if Path(json_key).stem.isdigit() else -1
            if seq <= after:
                continue
            sig_key = json_key.removesuffix(".json") + ".sig"
            if not self.store.exists(sig_key):
                break  # written a moment ago; its signature follows
            body, signature = self._read(json_key), self._read(sig_key)
            if not _verifies(key, signature, body, json_key):
                problems.append(f"{json_key}: its signature does not verify; not uploaded")
                continue
            try:
                at = parse_utc(str(parse_canonical(body, location=json_key)["at"]))
            except (TamperedError, KeyError, ValueError):
                problems.append(f"{json_key}: not a custody checkpoint; not uploaded")
                continue
            until = self.policy.custody_until(at)
            for source, data in ((json_key, body), (sig_key, signature)):
                path = self.store.path(source)
                objects.append(
                    SpoolObject(
                        key=base + source.removeprefix("custody/"),
                        size=len(data),
                        sha256=sha256_hex(data),
                        retain_until=until,
                        path=path,
                        data=data,
                        mtime=path.stat().st_mtime,
                    )
                )
        if objects:
            pem = public_key_pem(key)
            objects.insert(
                0,
                SpoolObject(
                    key=base + "public_key.pem",
                    size=len(pem),
                    sha256=sha256_hex(pem),
                    retain_until=self.policy.custody_until(utc_now()),
                    path=None,
                    data=pem,
                    mtime=objects[0].mtime,
                ),
            )
        return objects, problems

    # -- quarantine ------------------------------------------------------------------------

    def quarantine_path(self, key: str) -> Path:
        return self.quarantine_root / key

    def quarantined(self, key: str) -> bool:
        return self.quarantine_path(key).exists()

    def quarantine(self, damage: Damage) -> Path:
        """Move a damaged file out of the spool, with a reason file beside it."""
        source = self.store.path(damage.key)
        target = self.quarantine_path(damage.key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise StoreError(f"{damage.key} is already in quarantine at {target}")
        size = source.stat().st_size
        shutil.move(source, target)  # a rename when the quarantine is on the same filesystem
        fsync_directory(source.parent)
        reason: dict[str, Any] = {
            "key": damage.key,
            "reason": damage.reason,
            "expected_sha256": damage.expected,
            "actual_sha256": damage.actual,
            "size": size,
            "quarantined_at": format_utc(utc_now()),
        }
        reason_file = target.with_name(target.name + ".reason.json")
        reason_file.write_text(json.dumps(reason, indent=2) + "\n", encoding="utf-8")
        fsync_directory(target.parent)
        return target

    def quarantine_count(self) -> int:
        if not self.quarantine_root.is_dir():
            return 0
        return sum(1 for _ in self.quarantine_root.rglob("*.reason.json"))

    # -- release ---------------------------------------------------------------------------

    def begin_release(self, session_id: str) -> tuple[Path, int, int]:
        """Take a session's spool copy out of the store in one atomic rename; returns where
        it went, its file count and bytes. Only the uploader calls this, and only after
        confirming every object in the bucket."""
        source = self.store.path(layout.session_prefix(session_id).rstrip("/"))
        target = self.store.root / RELEASED / session_id
        target.parent.mkdir(parents=True, exist_ok=True)
        files = [p for p in source.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        source.rename(target)
        fsync_directory(source.parent)
        return target, len(files), size

    def release_plan(self, session_id: str) -> Release:
        """What finishing the release of a session (taken out by ``begin_release``) removes,
        and what it keeps: media left in flight (an unfinished segment recovery kept for
        inspection) was never uploaded, and is never removed."""
        released = self.store.root / RELEASED / session_id
        removed = sorted(
            p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()
        )
        bookkeeping: list[str] = []
        kept: list[str] = []
        inflight = self._inflight_dir(session_id)
        if inflight.is_dir():
            for path in sorted(p for p in inflight.rglob("*") if p.is_file()):
                name = path.relative_to(inflight).as_posix()
                (bookkeeping if name in INFLIGHT_BOOKKEEPING else kept).append(name)
        return Release(session_id, removed, bookkeeping, kept)

    def finish_release(self, session_id: str) -> Release:
        """Delete a released copy and the session's in-flight bookkeeping; media in flight
        stays where it is (``release_plan``)."""
        plan = self.release_plan(session_id)
        target = self.store.root / RELEASED / session_id
        if target.exists():
            shutil.rmtree(target)
        inflight = self._inflight_dir(session_id)
        for name in plan.bookkeeping:
            (inflight / name).unlink(missing_ok=True)
        if inflight.is_dir() and not plan.kept_in_flight:
            with contextlib.suppress(OSError):  # not empty after all: keep what is there
                for directory in sorted(inflight.rglob("*"), reverse=True):
                    directory.rmdir()
                inflight.rmdir()
        return plan

    def _inflight_dir(self, session_id: str) -> Path:
        return self.store.root / FilesystemStore.INFLIGHT / layout.SESSIONS / session_id

    def releasing(self) -> list[str]:
        """Sessions taken out of the spool whose deletion did not finish (killed)."""
        root = self.store.root / RELEASED
        return sorted(p.name for p in root.iterdir()) if root.is_dir() else []

    # -- the disk --------------------------------------------------------------------------

    def disk(self) -> tuple[int, int]:
        """(free bytes, total bytes) of the spool's filesystem."""
        usage = shutil.disk_usage(self.store.root)
        return usage.free, usage.total


def _verifies(key: PublicKey, signature: bytes, body: bytes, location: str) -> bool:
    try:
        verify_signature(key, signature, body, location=location)
    except TamperedError:
        return False
    return True


def _parse_link(body: bytes, name: str) -> Link | None:
    try:
        return Link.parse(body, location=name)
    except TamperedError:
        return None


def _certificate_sha256(body: bytes) -> str | None:
    try:
        return x509.load_pem_x509_certificate(body).fingerprint(hashes.SHA256()).hex()
    except ValueError:
        return None
