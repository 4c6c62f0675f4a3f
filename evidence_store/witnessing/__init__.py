"""The appliance's side of the off-box witness: queueing every signed head as it is written,
sending it, keeping the witness's receipts with the session, and asking the witness what it
holds (``sealroom verify``, recovery)."""

from evidence_store.witnessing.asking import (
    ask_witness,
    local_chain,
    receipt_heads,
    sealed_at_witness,
    segment_seconds,
)
from evidence_store.witnessing.client import WitnessClient, WitnessUnavailable
from evidence_store.witnessing.delivery import WitnessDelivery, device_identity
from evidence_store.witnessing.heads import head_payload, head_queue
from evidence_store.witnessing.link import WitnessLink, witness_url

__all__ = [
    "WitnessClient",
    "WitnessDelivery",
    "WitnessLink",
    "WitnessUnavailable",
    "ask_witness",
    "device_identity",
    "head_payload",
    "head_queue",
    "local_chain",
    "receipt_heads",
    "sealed_at_witness",
    "segment_seconds",
    "witness_url",
]
