"""Witness receipts: what the off-box witness signed about a session, and the rules that
check it.

Every signed chain head (each link, and the seal: ``manifest.json``) is sent to a witness, a
transparency log that follows RFC 9162 (``evidence_store.merkle``). The witness appends an
*entry* naming the head's SHA-256 and when it arrived, and answers with a *receipt*: the entry,
its leaf index, the inclusion proof, and the signed tree head (STH) that includes it. The
receipt is stored with the session, write-once, as ``witness/NNNNNN.json`` (link NNNNNN) or
``witness/manifest.json`` (the seal). It arrives seconds after the head, or later when the
witness was unreachable; a session without receipts yet is *not yet witnessed*, which is
reported, never taken for tampering.

A receipt proves, with the witness's key and without trusting the box, that the witness held
exactly this head at ``received_at``. So a link replaced after it was witnessed, a link or a
seal removed after it was witnessed, and a second seal all show, even if whoever has the box
also holds its device key and rewrites its custody database. Asked directly
(``GET /sessions/<id>``), the witness also says how much of the session it holds and what
forks it refused (``SessionView``): ``check_witness_view`` compares that with the session.

All documents are canonical JSON (``evidence_store.canonical``); a tree head and a session
view are signed over their canonical form without the ``signature`` field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from evidence_store import layout, merkle
from evidence_store.canonical import canonical_json
from evidence_store.errors import TamperedError, UntrustedSignerError
from evidence_store.model import (
    Link,
    Manifest,
    SessionId,
    Sha256Hex,
    Timestamp,
    _Document,
)
from evidence_store.signing import PublicKey, public_key_der, verify_signature
from evidence_store.timefmt import parse_utc


def key_id(key: PublicKey) -> str:
    """A witness key's name in tree heads: the SHA-256 of its SubjectPublicKeyInfo (DER)."""
    return hashlib.sha256(public_key_der(key)).hexdigest()


class WitnessEntry(_Document):
    """One entry of the witness's log: a head it was given, hashed as a leaf of the tree."""

    noun: ClassVar[str] = "witness entry"

    v: Literal[1] = 1
    type: Literal["sealroom.witness-entry"] = "sealroom.witness-entry"
    session: SessionId
    kind: Literal["link", "seal"]
    seq: int | None = Field(default=None, ge=0, description="the link's seq (links only)")
    sha256: Sha256Hex = Field(description="SHA-256 of the link's or manifest's exact bytes")
    device: Sha256Hex = Field(description="SHA-256 of the signing device's public key (DER)")
    received_at: Timestamp
    fork: bool = Field(
        default=False,
        description="kept as evidence of a fork: it does not extend the chain the witness held",
    )

    @model_validator(mode="after")
    def _seq_fits_kind(self) -> Self:
        if (self.kind == "link") != (self.seq is not None):
            raise ValueError("a link's entry names its seq, a seal's does not")
        return self

    def leaf_hash(self) -> bytes:
        return merkle.leaf_hash(canonical_json(self.to_document()))


class _Signed(_Document):
    signature: str = Field(pattern=r"^[0-9a-f]+$", max_length=512)

    def signed_bytes(self) -> bytes:
        """What the witness signs: the document without its signature, canonical."""
        document = self.to_document()
        del document["signature"]
        return canonical_json(document)


class TreeHead(_Signed):
    """A signed tree head: the log's size and root at ``timestamp``."""

    noun: ClassVar[str] = "tree head"

    v: Literal[1] = 1
    type: Literal["sealroom.tree-head"] = "sealroom.tree-head"
    log: Sha256Hex = Field(description="key_id of the witness key that signs")
    tree_size: int = Field(ge=0)
    root_hash: Sha256Hex
    timestamp: Timestamp


class Receipt(_Document):
    """The witness's answer to one head: its entry, included in a signed tree head."""

    noun: ClassVar[str] = "witness receipt"

    v: Literal[1] = 1
    type: Literal["sealroom.witness-receipt"] = "sealroom.witness-receipt"
    entry: WitnessEntry
    leaf_index: int = Field(ge=0)
    inclusion: list[Sha256Hex]
    tree_head: TreeHead


class SealRecord(_Document):
    """The seal the witness holds for a session."""

    sha256: Sha256Hex
    chain_length: int = Field(gt=0)
    head: Sha256Hex
    segments: int = Field(ge=0)
    received_at: Timestamp


class ForkRecord(_Document):
    """A head the witness refused as a fork, and kept."""

    kind: Literal["link", "seal"]
    seq: int | None = Field(default=None, ge=0)
    sha256: Sha256Hex
    received_at: Timestamp
    leaf_index: int = Field(ge=0)
    reason: str = Field(min_length=1, max_length=500)


class SessionView(_Signed):
    """What the witness holds for one session, signed, as ``GET /sessions/<id>`` gives it."""

    noun: ClassVar[str] = "witness session view"

    v: Literal[1] = 1
    type: Literal["sealroom.witness-session"] = "sealroom.witness-session"
    session: SessionId
    log: Sha256Hex
    at: Timestamp
    device: Sha256Hex | None = None
    links: int = Field(ge=0, description="links held: seq 0 to links - 1, unbroken")
    segments: int = Field(ge=0, description="segment links among them")
    head: Sha256Hex | None = Field(default=None, description="SHA-256 of the last link held")
    first_received_at: Timestamp | None = None
    seal: SealRecord | None = None
    forks: list[ForkRecord] = Field(default_factory=list)


# -- what a check established ------------------------------------------------------------------


@dataclass(frozen=True)
class Lateness:
    """How long after its head was signed the witness received it."""

    name: str  # the head: chain/000003.json or manifest.json
    seconds: float


@dataclass(frozen=True)
class WitnessReport:
    """What the session's receipts prove."""

    links: int  # the chain's length
    witnessed: tuple[int, ...]  # seqs with a valid receipt
    sealed: bool  # the session has a manifest
    seal_witnessed: bool
    lateness: tuple[Lateness, ...] = ()
    witnesses: tuple[str, ...] = ()  # key ids of the witnesses that signed
    notes: tuple[str, ...] = field(default=())

    @property
    def not_yet_witnessed(self) -> bool:
        """Nothing the session holds has a receipt yet."""
        return not self.witnessed and not self.seal_witnessed

    @property
    def complete(self) -> bool:
        """Every link and the seal have their receipts."""
        return len(self.witnessed) == self.links and self.sealed and self.seal_witnessed

    def as_dict(self) -> dict[str, Any]:
        late = max((item.seconds for item in self.lateness), default=None)
        return {
            "state": (
                "not yet witnessed"
                if self.not_yet_witnessed
                else "witnessed"
                if self.complete
                else "partly witnessed"
            ),
            "links_witnessed": len(self.witnessed),
            "links": self.links,
            "seal_witnessed": self.seal_witnessed,
            "witnesses": list(self.witnesses),
            "max_lateness_seconds": None if late is None else round(late, 3),
            "lateness_seconds": {item.name: round(item.seconds, 3) for item in self.lateness},
        }


# -- checking ------------------------------------------------------------------------------------


def is_witness_file(relative: str) -> bool:
    """Whether a session-relative path is in the witness's folder (checked by check_receipts,
    not by the chain)."""
    return relative.startswith(layout.WITNESS_DIR)


def trusted_key(head: TreeHead, keys: Sequence[PublicKey], *, location: str) -> PublicKey:
    """The trusted witness key that signed ``head``; UntrustedSignerError if none did."""
    for key in keys:
        if key_id(key) == head.log:
            verify_signature(
                key, bytes.fromhex(head.signature), head.signed_bytes(), location=location
            )
            return key
    raise UntrustedSignerError(
        f"signed by witness key sha256:{head.log}, which is not a trusted witness key "
        "(give it with --witness-key, [evidence] witness_key or <data_dir>/trust/witness/)",
        location=location,
    )


def check_receipt(receipt: Receipt, keys: Sequence[PublicKey], *, location: str) -> None:
    """The receipt's entry is in the tree its signed tree head describes, signed by a trusted
    witness key."""
    head = receipt.tree_head
    trusted_key(head, keys, location=location)
    try:
        merkle.verify_inclusion(
            receipt.leaf_index,
            head.tree_size,
            receipt.entry.leaf_hash(),
            [bytes.fromhex(p) for p in receipt.inclusion],
            bytes.fromhex(head.root_hash),
        )
    except merkle.ProofError as exc:
        raise TamperedError(
            f"the entry is not in the witness's signed tree: {exc}", location=location
        ) from exc


def check_receipts(
    read: Callable[[str], bytes],
    present: Collection[str],
    session_id: str,
    chain_length: int,
    witness_keys: Sequence[PublicKey],
) -> WitnessReport:
    """Check every receipt of a session whose chain (``chain_length`` links) was verified.

    ``read`` reads a session-relative file, ``present`` lists the session-relative files.
    Raises at the first receipt that does not hold: a name that is not a receipt's, a receipt
    for a link or seal the session no longer has (removed after it was witnessed), one whose
    head is not the stored one (replaced after it was witnessed), one not in the witness's
    signed tree, or one signed by a witness key that is not trusted.
    """
    names = sorted(name for name in present if is_witness_file(name))
    sealed = layout.MANIFEST in present
    witnessed: list[int] = []
    lateness: list[Lateness] = []
    witnesses: set[str] = set()
    seal_witnessed = False
    for name in names:
        seq = _receipt_seq(name)
        receipt = Receipt.parse(read(name), location=name)
        entry = receipt.entry
        if entry.session != session_id:
            raise TamperedError(f"a receipt for session {entry.session}", location=name)
        if entry.fork:
            raise TamperedError("a fork the witness refused is not a receipt", location=name)
        if seq is None:
            head_name, ok = layout.MANIFEST, entry.kind == "seal"
        else:
            head_name, ok = layout.link_name(seq), entry.kind == "link" and entry.seq == seq
        if not ok:
            raise TamperedError("the receipt is for another head than its name says", location=name)
        if head_name not in present:
            what = "the seal" if seq is None else f"link {seq}"
            raise TamperedError(
                f"the witness holds {what} of this session, which is gone: "
                + (
                    "the session was unsealed after it was witnessed"
                    if seq is None
                    else "links were removed after they were witnessed"
                ),
                location=name,
            )
        body = read(head_name)
        if hashlib.sha256(body).hexdigest() != entry.sha256:
            raise TamperedError(
                f"{head_name} is not the one the witness received at {entry.received_at}: "
                "it was replaced after it was witnessed",
                location=name,
            )
        check_receipt(receipt, witness_keys, location=name)
        witnesses.add(receipt.tree_head.log)
        signed_at = _signed_at(body, head_name, seq)
        seconds = (parse_utc(entry.received_at) - parse_utc(signed_at)).total_seconds()
        lateness.append(Lateness(head_name, seconds))
        if seq is None:
            seal_witnessed = True
        else:
            witnessed.append(seq)
    return WitnessReport(
        links=chain_length,
        witnessed=tuple(witnessed),
        sealed=sealed,
        seal_witnessed=seal_witnessed,
        lateness=tuple(lateness),
        witnesses=tuple(sorted(witnesses)),
    )


def _receipt_seq(name: str) -> int | None:
    """The link a receipt's name is for (None: the seal); TamperedError for any other name."""
    if name == layout.SEAL_RECEIPT:
        return None
    stem = name.removeprefix(layout.WITNESS_DIR).removesuffix(".json")
    if len(stem) == 6 and stem.isdigit() and name == layout.receipt_name(int(stem)):
        return int(stem)
    raise TamperedError(
        "object is not part of the session (the witness folder holds only receipts)",
        location=name,
    )


def _signed_at(body: bytes, name: str, seq: int | None) -> str:
    """When the device says it signed a head: the link's time, or the seal's end."""
    if seq is None:
        return Manifest.parse(body, location=name).ended_at
    return Link.parse(body, location=name).time


# -- what the witness says it holds ----------------------------------------------------------


@dataclass(frozen=True)
class LocalChain:
    """The verified session, as the witness's view is compared with it."""

    session_id: str
    link_digests: Sequence[str]  # SHA-256 of each link's bytes, in order
    segments: int
    manifest_sha256: str | None  # None: not sealed


def check_witness_view(
    data: bytes, local: LocalChain, witness_keys: Sequence[PublicKey], *, witness: str
) -> SessionView:
    """Compare what the witness holds for the session (``data``: its signed view) with the
    session as verified. Raises TamperedError, located at the witness, for a fork the witness
    refused, for a chain shorter than or different from the one witnessed, and for a seal,
    head or segment count other than the one first witnessed."""
    where = f"witness {witness}"
    view = SessionView.parse(data, location=where)
    for key in witness_keys:
        if key_id(key) == view.log:
            verify_signature(
                key, bytes.fromhex(view.signature), view.signed_bytes(), location=where
            )
            break
    else:
        raise UntrustedSignerError(
            f"the witness answered with key sha256:{view.log}, which is not a trusted witness key",
            location=where,
        )
    if view.session != local.session_id:
        raise TamperedError(f"the witness answered for session {view.session}", location=where)
    if view.forks:
        fork = view.forks[0]
        what = "the seal" if fork.kind == "seal" else f"link {fork.seq}"
        raise TamperedError(
            f"the witness refused {len(view.forks)} head(s) of this session as a fork; first: "
            f"{what} received at {fork.received_at} ({fork.reason})",
            location=where,
        )
    have = len(local.link_digests)
    if view.links > have:
        raise TamperedError(
            f"the witness holds {view.links} links of this session, the session has {have}: "
            "links were removed after they were witnessed",
            location=where,
        )
    if view.links and view.head != local.link_digests[view.links - 1]:
        raise TamperedError(
            f"link {view.links - 1} is not the one the witness holds: the chain was rewritten "
            "after it was witnessed",
            location=where,
        )
    if view.seal is not None:
        seal = view.seal
        if local.manifest_sha256 is None:
            raise TamperedError(
                f"the witness holds a seal of this session ({seal.segments} segments, received "
                f"at {seal.received_at}); the session has none: it was unsealed",
                location=where,
            )
        if seal.sha256 != local.manifest_sha256 or local.segments != seal.segments:
            raise TamperedError(
                f"the session is not sealed as the witness saw it: the witness holds a seal of "
                f"{seal.chain_length} links and {seal.segments} segments (received at "
                f"{seal.received_at}), the session has {have} links and {local.segments} "
                "segments",
                location=where,
            )
    elif view.links == have and view.segments != local.segments:
        raise TamperedError(
            f"the witness counted {view.segments} segments, the session has {local.segments}",
            location=where,
        )
    return view
