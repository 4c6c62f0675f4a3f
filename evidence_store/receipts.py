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
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from evidence_store import layout, merkle
from evidence_store.canonical import canonical_json
from evidence_store.errors import Reason, TamperedError, UntrustedSignerError
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
    nonce: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32,128}$",
        description="the asker's random nonce, signed with the answer: a saved answer replays",
    )
    tree_head: TreeHead | None = Field(
        default=None, description="the witness's newest signed tree head when it answered"
    )
    received: list[Timestamp] | None = Field(
        default=None, description="when the witness received each link it holds, by seq"
    )
    last_heard_at: Timestamp | None = Field(
        default=None, description="when the witness last heard anything of the session"
    )


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
        Reason(
            "signed_witness_key_sha256",
            "signed by witness key sha256:{log}, which is not a trusted witness key (give it with "
            "--witness-key, [evidence] witness_key or <data_dir>/trust/witness/)",
            log=head.log,
        ),
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
            Reason(
                "entry_witness_s_signed",
                "the entry is not in the witness's signed tree: {exc}",
                exc=exc,
            ),
            location=location,
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
            raise TamperedError(
                Reason(
                    "receipt_session_session",
                    "a receipt for session {session}",
                    session=entry.session,
                ),
                location=name,
            )
        if entry.fork:
            raise TamperedError(
                Reason(
                    "fork_witness_refused_receipt", "a fork the witness refused is not a receipt"
                ),
                location=name,
            )
        if seq is None:
            head_name, ok = layout.MANIFEST, entry.kind == "seal"
        else:
            head_name, ok = layout.link_name(seq), entry.kind == "link" and entry.seq == seq
        if not ok:
            raise TamperedError(
                Reason(
                    "receipt_another_head_than",
                    "the receipt is for another head than its name says",
                ),
                location=name,
            )
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
                Reason(
                    "head_name_one_witness",
                    "{head_name} is not the one the witness received at {received_at}: it was "
                    "replaced after it was witnessed",
                    head_name=head_name,
                    received_at=entry.received_at,
                ),
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
        Reason(
            "object_part_session_witness",
            "object is not part of the session (the witness folder holds only receipts)",
        ),
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


Consistency = Callable[[int, int], Sequence[bytes]]


def check_witness_view(
    data: bytes,
    local: LocalChain,
    witness_keys: Sequence[PublicKey],
    *,
    witness: str,
    nonce: str,
    receipt_heads: Sequence[TreeHead] = (),
    consistency: Consistency | None = None,
) -> SessionView:
    """Compare what the witness holds for the session (``data``: its signed view) with the
    session as verified. Raises TamperedError, located at the witness, for an answer that is
    not fresh (without the asker's ``nonce``, or with a tree older than, or not consistent
    with, the tree heads of the session's receipts: a saved answer replayed), for a fork the
    witness refused, for a chain shorter than or different from the one witnessed, for a
    seal, head or segment count other than the one first witnessed, and for a session whose
    receipts name this witness when it has never heard of it."""
    where = f"witness {witness}"
    view = SessionView.parse(data, location=where)
    _check_view_signature(view, witness_keys, where)
    if view.session != local.session_id:
        raise TamperedError(
            Reason(
                "witness_answered_session_session",
                "the witness answered for session {session}",
                session=view.session,
            ),
            location=where,
        )
    _check_fresh(view, nonce, receipt_heads, consistency, witness_keys, where)
    if never_heard(view) and any(head.log == view.log for head in receipt_heads):
        raise TamperedError(
            Reason(
                "session_s_receipts_say",
                "the session's receipts say this witness received its heads, but the witness has "
                "never heard of this session: the receipts are not the witness's",
            ),
            location=where,
        )
    if view.forks:
        fork = view.forks[0]
        what = "the seal" if fork.kind == "seal" else f"link {fork.seq}"
        raise TamperedError(
            Reason(
                "witness_refused_fork_count",
                "the witness refused {fork_count} head(s) of this session as a fork; first: "
                "{what} received at {received_at} ({reason})",
                fork_count=len(view.forks),
                what=what,
                received_at=fork.received_at,
                reason=fork.reason,
            ),
            location=where,
        )
    have = len(local.link_digests)
    if view.links > have:
        raise TamperedError(
            Reason(
                "witness_holds_links_links",
                "the witness holds {links} links of this session, the session has {have}: links "
                "were removed after they were witnessed",
                links=view.links,
                have=have,
            ),
            location=where,
        )
    if view.links and view.head != local.link_digests[view.links - 1]:
        raise TamperedError(
            Reason(
                "link_links_one_witness",
                "link {links} is not the one the witness holds: the chain was rewritten after it "
                "was witnessed",
                links=view.links - 1,
            ),
            location=where,
        )
    if view.seal is not None:
        seal = view.seal
        if local.manifest_sha256 is None:
            raise TamperedError(
                Reason(
                    "witness_holds_seal_session",
                    "the witness holds a seal of this session ({segments} segments, received at "
                    "{received_at}); the session has none: it was unsealed",
                    segments=seal.segments,
                    received_at=seal.received_at,
                ),
                location=where,
            )
        if seal.sha256 != local.manifest_sha256 or local.segments != seal.segments:
            raise TamperedError(
                Reason(
                    "session_sealed_witness_saw",
                    "the session is not sealed as the witness saw it: the witness holds a seal of "
                    "{chain_length} links and {segments} segments (received at {received_at}), "
                    "the session has {have} links and {segments2} segments",
                    chain_length=seal.chain_length,
                    segments=seal.segments,
                    received_at=seal.received_at,
                    have=have,
                    segments2=local.segments,
                ),
                location=where,
            )
    elif view.links == have and view.segments != local.segments:
        raise TamperedError(
            Reason(
                "witness_counted_segments_segments",
                "the witness counted {segments} segments, the session has {segments2}",
                segments=view.segments,
                segments2=local.segments,
            ),
            location=where,
        )
    return view


def never_heard(view: SessionView) -> bool:
    """The witness holds nothing of the session: no link, no seal, no fork."""
    return view.links == 0 and view.seal is None and not view.forks


def _check_view_signature(view: SessionView, keys: Sequence[PublicKey], where: str) -> None:
    for key in keys:
        if key_id(key) == view.log:
            verify_signature(
                key, bytes.fromhex(view.signature), view.signed_bytes(), location=where
            )
            return
    raise UntrustedSignerError(
        Reason(
            "witness_answered_key_sha256",
            "the witness answered with key sha256:{log}, which is not a trusted witness key",
            log=view.log,
        ),
        location=where,
    )


def _check_fresh(
    view: SessionView,
    nonce: str,
    receipt_heads: Sequence[TreeHead],
    consistency: Consistency | None,
    keys: Sequence[PublicKey],
    where: str,
) -> None:
    """The answer was made for this question (it signs the asker's nonce) from a log that
    holds every tree head the session's receipts were given (a saved, older answer fails)."""
    if view.nonce != nonce:
        raise TamperedError(
            Reason(
                "witness_s_answer_does",
                "the witness's answer does not carry this verification's nonce: it is not fresh "
                "(a saved answer replayed, or not the witness)",
            ),
            location=where,
        )
    current = view.tree_head
    if current is None:
        raise TamperedError(
            Reason("witness_s_answer_carries", "the witness's answer carries no signed tree head"),
            location=where,
        )
    if current.log != view.log:
        raise TamperedError(
            Reason("answer_s_tree_head", "the answer's tree head is another witness's"),
            location=where,
        )
    trusted_key(current, keys, location=where)
    same_log = [head for head in receipt_heads if head.log == current.log]
    newest = max(same_log, key=lambda head: head.tree_size, default=None)
    if newest is None:
        return
    if newest.tree_size > current.tree_size:
        raise TamperedError(
            Reason(
                "witness_answered_from_log",
                "the witness answered from a log of {tree_size} entries; the session's receipts "
                "were given by a log of {tree_size2}: the answer is older than the receipts "
                "(replayed)",
                tree_size=current.tree_size,
                tree_size2=newest.tree_size,
            ),
            location=where,
        )
    if newest.tree_size == current.tree_size or consistency is None:
        if newest.tree_size == current.tree_size and newest.root_hash != current.root_hash:
            raise TamperedError(
                Reason(
                    "witness_s_tree_head",
                    "the witness's tree head and a receipt's have the same size and different "
                    "roots: the log was rewritten",
                ),
                location=where,
            )
        return
    try:
        merkle.verify_consistency(
            newest.tree_size,
            current.tree_size,
            bytes.fromhex(newest.root_hash),
            bytes.fromhex(current.root_hash),
            consistency(newest.tree_size, current.tree_size),
        )
    except merkle.ProofError as exc:
        raise TamperedError(
            Reason(
                "witness_s_log_tree",
                "the witness's log of {tree_size} entries does not extend the one of {tree_size2} "
                "the session's receipts name: {exc}",
                tree_size=current.tree_size,
                tree_size2=newest.tree_size,
                exc=exc,
            ),
            location=where,
        ) from exc


# -- late receipts and silences ----------------------------------------------------------------


def default_late_tolerance(segment_seconds: int) -> float:
    """How late a receipt may be before it is flagged: one segment and fifteen seconds. A
    head is sent within seconds of its seal; a box cut off from the witness for longer than
    this is exactly what a reader must be told about (a LATE flag is a caveat, not a verdict)."""
    return segment_seconds + 15.0


def late_lines(lateness: Sequence[Lateness], tolerance: float) -> list[str]:
    """Receipts received later than ``tolerance`` after their heads were signed, grouped
    into runs, each with the window for which the witness proves only existence."""
    late = [item for item in lateness if item.seconds > tolerance]
    runs: list[list[Lateness]] = []
    for item in sorted(late, key=lambda i: _head_order(i.name)):
        follows = _head_order(item.name) == _head_order(runs[-1][-1].name) + 1 if runs else False
        if runs and (follows or item.name == layout.MANIFEST):  # the seal ends the last run
            runs[-1].append(item)
        else:
            runs.append([item])
    lines = []
    for run in runs:
        seqs = [_head_order(item.name) for item in run if item.name != layout.MANIFEST]
        parts = []
        if seqs:
            parts.append(f"link {seqs[0]}" if len(seqs) == 1 else f"links {seqs[0]}-{seqs[-1]}")
        if run[-1].name == layout.MANIFEST:
            parts.append("the seal")
        worst = max(item.seconds for item in run)
        lines.append(
            f"LATE: {' and '.join(parts)} reached the witness up to {worst:.0f} s after "
            f"{'it was' if len(run) == 1 else 'they were'} signed (tolerance {tolerance:.0f} s); "
            "for that window the witness proves only that they existed by then"
        )
    return lines


def _head_order(name: str) -> int:
    """A head's place in the session: a link's seq, the seal after every link."""
    if name == layout.MANIFEST:
        return 1 << 40
    return int(name.removeprefix("chain/").removesuffix(".json"))


def silences(view: SessionView, tolerance: float) -> list[tuple[str, str]]:
    """Windows longer than ``tolerance`` in which the witness heard nothing of the session
    before its seal (or, open at the witness, before it answered): (from, to), UTC."""
    times = list(view.received or [])
    times.append(view.seal.received_at if view.seal is not None else view.at)
    found = []
    for earlier, later in itertools.pairwise(times):
        if (parse_utc(later) - parse_utc(earlier)).total_seconds() > tolerance:
            found.append((earlier, later))
    return found
