"""Asking the witness what it holds of a session, and comparing it with the session as
verified (``evidence_store.receipts.check_witness_view``). Used by ``sealroom verify`` and
by recovery, which must not re-seal what the witness holds as sealed.

The witness is off the box: what it holds cannot be shortened, rewritten or re-sealed by
whoever has the box, even with its device key and its custody database.
"""

from __future__ import annotations

import hashlib
import secrets

from evidence_store import layout
from evidence_store.errors import SealroomError
from evidence_store.model import Link
from evidence_store.receipts import (
    LocalChain,
    Receipt,
    SessionView,
    TreeHead,
    check_witness_view,
)
from evidence_store.signing import PublicKey
from evidence_store.store import EvidenceReader
from evidence_store.witnessing.client import WitnessClient


def local_chain(reader: EvidenceReader, session_id: str) -> LocalChain:
    """The session's links (their digests), segments and seal, as stored (not verified)."""
    prefix = layout.session_prefix(session_id)
    digests: list[str] = []
    segments = 0
    while reader.exists(key := prefix + layout.link_name(len(digests))):
        body = reader.read_bytes(key)
        digests.append(hashlib.sha256(body).hexdigest())
        segments += Link.parse(body, location=layout.link_name(len(digests) - 1)).kind == "segment"
    manifest = None
    if reader.exists(prefix + layout.MANIFEST):
        manifest = hashlib.sha256(reader.read_bytes(prefix + layout.MANIFEST)).hexdigest()
    return LocalChain(session_id, digests, segments, manifest)


def segment_seconds(reader: EvidenceReader, session_id: str) -> int | None:
    """The session's segment length, as its first link declares it (None: unreadable)."""
    key = layout.session_prefix(session_id) + layout.link_name(0)
    try:
        event = Link.parse(reader.read_bytes(key), location=key).event
    except (SealroomError, OSError):
        return None
    return event.media.segment_seconds if event is not None and event.media else None


def ask_witness(
    client: WitnessClient,
    reader: EvidenceReader,
    session_id: str,
    witness_keys: list[PublicKey],
) -> SessionView:
    """What the witness holds of the session, checked against the stored session; raises
    TamperedError (located at the witness) when they disagree, WitnessUnavailable when the
    witness does not answer."""
    nonce = secrets.token_hex(32)  # fresh for every question: a saved answer cannot match it
    data = client.session_view(session_id, nonce)
    local = local_chain(reader, session_id)
    return check_witness_view(
        data,
        local,
        witness_keys,
        witness=client.url,
        nonce=nonce,
        receipt_heads=receipt_heads(reader, session_id),
        consistency=client.consistency,
    )


def receipt_heads(reader: EvidenceReader, session_id: str) -> list[TreeHead]:
    """The tree heads of the session's receipts (those that parse; the receipts themselves
    are checked by ``check_receipts``)."""
    prefix = layout.session_prefix(session_id)
    heads = []
    for key in reader.list_keys(prefix + layout.WITNESS_DIR):
        try:
            heads.append(Receipt.parse(reader.read_bytes(key), location=key).tree_head)
        except SealroomError:
            continue
    return heads


def sealed_at_witness(client: WitnessClient, session_id: str) -> SessionView | None:
    """The witness's view of a session when it holds a seal of it (signature unchecked: a
    recovery that is only told "do not re-seal" needs no proof), else None."""
    view = SessionView.parse(client.session_view(session_id), location=f"witness {client.url}")
    return view if view.seal is not None else None
