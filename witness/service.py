"""The witness: an append-only log of every signed chain head it is given, and what it holds
of each session's chain.

A submission (``witness.submissions``) is one head of one session. The witness knows each
session's chain as far as it has seen it, and:

- a head that extends it (the next seq, naming the last head as ``prev``; or a seal of exactly
  the chain held) is *accepted*: appended to the log, and answered with a receipt;
- a head it already holds, byte for byte, is answered with the very receipt it gave the first
  time (an appliance resends after a timeout);
- a head beyond a gap (a later seq, or a seal of more links than it holds) is answered 409
  with the seq it expects, and nothing is written: the appliance sends what it lacks first;
- anything else is a *fork*: another link at a seq it holds, a link after the seal, a link
  whose ``prev`` is not the head held, a seal of another chain, a second seal. A fork never
  becomes the session's state. It is kept whole (``witness_forks``) and appended to the log
  as an entry marked ``fork``, an alarm is raised (a log line at ERROR and a row in
  ``witness_alarms``), and ``GET /sessions/<id>`` reports it, so ``sealroom verify`` does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from alembic.config import Config
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from evidence_store import (
    Receipt,
    SessionView,
    TrustStore,
    WitnessEntry,
    canonical_json,
    format_utc,
    utc_now,
)
from evidence_store.upgrades import upgrade_to_head
from witness.enrolment import EnrolmentRefused, enrolled_device, record_alarm
from witness.identity import WitnessIdentity
from witness.schema import AlarmRow, EntryRow, ForkRow, HeadRow, SessionRow, TreeHeadRow
from witness.submissions import Submission
from witness.tree import MerkleTree, lock_for_append, serialise_sqlite_writers

log = logging.getLogger("sealroom.witness")
MIGRATIONS = Path(__file__).parent / "migrations"

Status = Literal["accepted", "held", "gap", "fork", "refused"]


@dataclass(frozen=True)
class Outcome:
    """The witness's answer to one submission."""

    status: Status
    receipt: bytes | None = None  # canonical JSON: the head's receipt (for a fork: the fork's)
    expected_seq: int | None = None  # a gap: the seq the witness needs next
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"status": self.status}
        if self.receipt is not None:
            document["receipt"] = base64.b64encode(self.receipt).decode()
        if self.expected_seq is not None:
            document["expected_seq"] = self.expected_seq
        if self.reason:
            document["reason"] = self.reason
        return document


@dataclass
class _Decision:
    status: Status
    reason: str = ""
    expected_seq: int | None = None
    receipt: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def migrate(engine: Engine) -> None:
    """Bring the witness's tables to the newest schema."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        upgrade_to_head(config)


class Witness:
    """The log in one database, signed with ``identity``. Thread-safe (a SQL session per
    call; appends are serialised by the database)."""

    def __init__(self, engine: Engine, identity: WitnessIdentity, roots: TrustStore) -> None:
        self.engine = engine
        self.identity = identity
        self.roots = roots
        self.tree = MerkleTree(identity)

    @classmethod
    def open(cls, url: str, identity: WitnessIdentity, roots: TrustStore | None = None) -> Witness:
        engine = create_engine(url)
        if engine.dialect.name == "sqlite":
            serialise_sqlite_writers(engine)
        migrate(engine)
        witness = cls(engine, identity, roots or TrustStore())
        with Session(engine) as session, session.begin():
            lock_for_append(session)
            if witness.tree.head(session) is None:  # a new log answers GET /sth at once
                witness.tree.sign_head(session, 0, format_utc(utc_now()))
        return witness

    def close(self) -> None:
        self.engine.dispose()

    # -- submissions -------------------------------------------------------------------------

    def submit(self, submission: Submission) -> Outcome:
        """Take one checked submission (see the module's docstring)."""
        now = format_utc(utc_now())
        try:
            with Session(self.engine) as session, session.begin():
                lock_for_append(session)
                device = enrolled_device(session, submission.device, self.roots, now)
                decision = self._decide(session, submission, device.key_sha256)
                if decision.status in ("accepted", "fork"):
                    decision.receipt = self._append(session, submission, decision, now)
        except EnrolmentRefused as refused:
            self._alarm("enrolment_refused", submission.session_id, str(refused), now)
            return Outcome("refused", reason=str(refused))
        if decision.status == "fork":
            log.error(
                "ALARM: fork in session %s: %s (kept as evidence)",
                submission.session_id,
                decision.reason,
            )
        return Outcome(decision.status, decision.receipt, decision.expected_seq, decision.reason)

    def _decide(self, session: Session, submission: Submission, device: str) -> _Decision:
        row = session.get(SessionRow, submission.session_id)
        digest = hashlib.sha256(submission.data).hexdigest()
        if row is not None and row.device != device:
            return _Decision(
                "refused",
                f"session {submission.session_id} belongs to device key sha256:{row.device}",
            )
        if submission.link is not None:
            return self._decide_link(session, submission, row, device, digest)
        return self._decide_seal(submission, row, digest)

    def _decide_link(
        self,
        session: Session,
        submission: Submission,
        row: SessionRow | None,
        device: str,
        digest: str,
    ) -> _Decision:
        link = submission.link
        assert link is not None
        if row is None:
            if link.seq != 0:
                return _Decision("gap", "the witness holds no link of the session", 0)
            event = link.event
            if event is None or event.signer is None or event.signer.public_key_sha256 != device:
                return _Decision("refused", "link 0 does not name the submitting device's key")
            return _Decision("accepted")
        held = session.get(HeadRow, (submission.session_id, link.seq))
        if held is not None:
            if held.sha256 == digest:
                return _Decision("held", receipt=bytes(held.receipt))
            return _Decision(
                "fork", f"another link {link.seq}: the witness holds one with SHA-256 {held.sha256}"
            )
        if row.seal_sha256 is not None:
            return _Decision("fork", f"link {link.seq} after the session was sealed")
        if link.seq > row.links:
            return _Decision(
                "gap", f"the witness holds links 0 to {row.links - 1}", expected_seq=row.links
            )
        if link.prev != row.head:
            return _Decision(
                "fork", f"link {link.seq} does not follow the link {row.links - 1} witnessed"
            )
        return _Decision("accepted")

    @staticmethod
    def _decide_seal(submission: Submission, row: SessionRow | None, digest: str) -> _Decision:
        manifest = submission.manifest
        assert manifest is not None
        if row is None:
            return _Decision("gap", "the witness holds no link of the session", 0)
        if row.seal_sha256 is not None:
            if row.seal_sha256 == digest and row.seal_receipt is not None:
                return _Decision("held", receipt=bytes(row.seal_receipt))
            return _Decision(
                "fork",
                f"a second seal: the witness holds a seal of {row.seal_chain_length} links and "
                f"{row.seal_segments} segments",
            )
        sealed = manifest.chain
        if sealed.length > row.links:
            return _Decision(
                "gap", f"the witness holds links 0 to {row.links - 1}", expected_seq=row.links
            )
        if sealed.length < row.links:
            return _Decision(
                "fork",
                f"the seal covers {sealed.length} links; the witness holds {row.links}: "
                "the chain was shortened",
            )
        if sealed.head != row.head:
            return _Decision("fork", "the seal's head is not the last link witnessed")
        if len(manifest.segments) != row.segments:
            return _Decision(
                "fork",
                f"the seal lists {len(manifest.segments)} segments; the witness counted "
                f"{row.segments}",
            )
        return _Decision("accepted")

    def _append(
        self, session: Session, submission: Submission, decision: _Decision, now: str
    ) -> bytes:
        """Append the head (or the fork) to the log, sign the new tree head, and keep the
        session's state or the fork's evidence; returns the receipt."""
        link, fork = submission.link, decision.status == "fork"
        digest = hashlib.sha256(submission.data).hexdigest()
        entry = WitnessEntry(
            session=submission.session_id,
            kind=submission.kind,
            seq=None if link is None else link.seq,
            sha256=digest,
            device=submission.device.key_sha256,
            received_at=now,
            fork=fork,
        )
        body = canonical_json(entry.to_document())
        index = self.tree.append(session, body, session_id=submission.session_id, at=now)
        root, inclusion = self.tree.root_and_inclusion(session, index, index + 1)
        head = self.tree.sign_head(session, index + 1, now, root=root)
        receipt = canonical_json(
            Receipt(
                entry=entry,
                leaf_index=index,
                inclusion=[node.hex() for node in inclusion],
                tree_head=head,
            ).to_document()
        )
        if fork:
            session.add(
                ForkRow(
                    session_id=submission.session_id,
                    kind=submission.kind,
                    seq=entry.seq,
                    sha256=digest,
                    leaf_index=index,
                    received_at=now,
                    reason=decision.reason,
                    data=submission.data,
                    signature=submission.signature,
                )
            )
            record_alarm(
                session,
                kind="fork",
                session_id=submission.session_id,
                message=decision.reason,
                at=now,
            )
        elif link is not None:
            self._extend(session, submission, digest, index, receipt, now)
        else:
            self._seal(session, submission, digest, receipt, now)
        return receipt

    @staticmethod
    def _extend(
        session: Session, submission: Submission, digest: str, index: int, receipt: bytes, now: str
    ) -> None:
        link = submission.link
        assert link is not None
        row = session.get(SessionRow, submission.session_id)
        if row is None:
            row = SessionRow(
                session_id=submission.session_id,
                device=submission.device.key_sha256,
                links=0,
                segments=0,
                head=None,
                first_received_at=now,
            )
            session.add(row)
        row.links = link.seq + 1
        row.head = digest  # a link's digest is the chain's head after it
        row.segments += 1 if link.segment is not None else 0
        session.add(
            HeadRow(
                session_id=submission.session_id,
                seq=link.seq,
                sha256=digest,
                leaf_index=index,
                receipt=receipt,
            )
        )

    @staticmethod
    def _seal(
        session: Session, submission: Submission, digest: str, receipt: bytes, now: str
    ) -> None:
        manifest = submission.manifest
        assert manifest is not None
        row = session.get(SessionRow, submission.session_id)
        assert row is not None
        row.seal_sha256 = digest
        row.seal_chain_length = manifest.chain.length
        row.seal_head = manifest.chain.head
        row.seal_segments = len(manifest.segments)
        row.seal_received_at = now
        row.seal_receipt = receipt

    def _alarm(self, kind: str, session_id: str | None, message: str, at: str) -> None:
        with Session(self.engine) as session, session.begin():
            record_alarm(session, kind=kind, session_id=session_id, message=message, at=at)

    # -- what it answers -------------------------------------------------------------------

    def tree_head(self, size: int | None = None) -> bytes | None:
        """A signed tree head it issued (canonical JSON): of ``size``, or the newest."""
        with Session(self.engine) as session:
            return self.tree.head(session, size)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The consistency proof between two tree heads it issued."""
        with Session(self.engine) as session:
            size = self.tree.size(session)
            if not 0 < first <= second <= size:
                raise ValueError(
                    f"no consistency proof from {first} to {second} in a log of {size}"
                )
            return self.tree.consistency(session, first, second)

    def session_view(self, session_id: str, nonce: str | None = None) -> bytes:
        """What it holds of a session, signed (``evidence_store.receipts.SessionView``), with
        the asker's ``nonce`` and its newest tree head, so a saved answer cannot pass for a
        fresh one; and when it received each link and last heard of the session, so a
        verifier sees how long the session was silent at the witness."""
        with Session(self.engine) as session:
            row = session.get(SessionRow, session_id)
            forks = session.scalars(
                select(ForkRow).where(ForkRow.session_id == session_id).order_by(ForkRow.id)
            ).all()
            received = (
                session.execute(
                    select(EntryRow.received_at)
                    .join(HeadRow, HeadRow.leaf_index == EntryRow.leaf_index)
                    .where(HeadRow.session_id == session_id)
                    .order_by(HeadRow.seq)
                )
                .scalars()
                .all()
            )
            last_heard = session.scalar(
                select(func.max(EntryRow.received_at)).where(EntryRow.session_id == session_id)
            )
            tree_head = self.tree.head(session)
        body: dict[str, Any] = {
            "v": 1,
            "type": "sealroom.witness-session",
            "session": session_id,
            "log": self.identity.key_id,
            "at": format_utc(utc_now()),
            "links": row.links if row else 0,
            "segments": row.segments if row else 0,
            "received": list(received),
            **({"nonce": nonce} if nonce is not None else {}),
            **({"last_heard_at": last_heard} if last_heard is not None else {}),
            **({"tree_head": json.loads(tree_head)} if tree_head is not None else {}),
            "forks": [
                {
                    "kind": fork.kind,
                    **({"seq": fork.seq} if fork.seq is not None else {}),
                    "sha256": fork.sha256,
                    "received_at": fork.received_at,
                    "leaf_index": fork.leaf_index,
                    "reason": fork.reason,
                }
                for fork in forks
            ],
        }
        if row is not None:
            body.update(device=row.device, first_received_at=row.first_received_at)
            if row.head is not None:
                body["head"] = row.head
            if row.seal_sha256 is not None:
                body["seal"] = {
                    "sha256": row.seal_sha256,
                    "chain_length": row.seal_chain_length,
                    "head": row.seal_head,
                    "segments": row.seal_segments,
                    "received_at": row.seal_received_at,
                }
        body["signature"] = self.identity.sign(canonical_json(body)).hex()
        return canonical_json(SessionView.model_validate(body).to_document())

    def stamp_of(self, size: int) -> bytes | None:
        """The RFC 3161 token that stamps tree head ``size``, when it was stamped."""
        with Session(self.engine) as session:
            row = session.get(TreeHeadRow, size)
            return bytes(row.stamp) if row is not None and row.stamp is not None else None

    def alarms(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest alarms, newest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(AlarmRow).order_by(AlarmRow.id.desc()).limit(limit))
            return [
                {"at": r.at, "kind": r.kind, "session_id": r.session_id, "message": r.message}
                for r in rows
            ]
