"""Queueing signed heads for the witness: the ``SessionWriter`` hook.

The hook writes one small file into the ``witness`` outbox (``evidence_store.outbox``) and
wakes the sender: no network, no waiting, in the same call that signed the head. The file
holds the head's exact bytes and signature, so it can be sent whatever happens to the session
folder meanwhile.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from evidence_store.outbox import Outbox
from evidence_store.session import HeadHook, SignedHead

DESTINATION = "witness"
KIND = "head"


def head_payload(head: SignedHead) -> dict[str, Any]:
    return {
        "session": head.session_id,
        "kind": head.kind,
        "seq": head.seq,
        "data": base64.b64encode(head.data).decode(),
        "signature": base64.b64encode(head.signature).decode(),
    }


def head_queue(outbox: Outbox, wake: Callable[[], None] | None = None) -> HeadHook:
    """A ``SessionWriter`` hook that queues each signed head in ``outbox`` (then ``wake``s
    its sender)."""

    def queue(head: SignedHead) -> None:
        outbox.put(KIND, head_payload(head))
        if wake is not None:
            wake()

    return queue
