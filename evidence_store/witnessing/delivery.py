"""Sending queued heads to the witness and keeping its receipts: the ``witness`` outbox's
delivery (``evidence_store.outbox.Route``).

For each head: submit it, with the device's public key, certificate and name (the witness
enrols the device on first contact and holds it to that key after), then

- 200: check the receipt (its entry names this head's bytes, the inclusion proof leads to
  the signed tree head, signed by the trusted witness key) and keep it, write-once, beside
  the session (``evidence_store.upload.store_late_file``), queued for the bucket;
- 409 gap: the witness lacks earlier heads (lost with a crash, or sent before a witness was
  configured): send them first from the local store, then this one;
- 409 fork, 403, 400: the witness will never take it: refused (set aside with the reason,
  kept for a person), with an alarm;
- no answer in time, or 5xx: deferred; the sender backs off and tries again, in order.

The witness's key is the one configured (``[evidence] witness_key``, ``trust/witness/``); with
none, the key the witness names on first contact is pinned in ``trust/witness/`` (trust on
first use, logged), and every later receipt must be signed by it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_store import layout
from evidence_store.durable import READ_ONLY, NameTaken, write_once
from evidence_store.errors import StoreError, VerificationError
from evidence_store.model import Manifest
from evidence_store.outbox import DeliveryDeferred, DeliveryRefused, OutboxItem
from evidence_store.receipts import Receipt, check_receipt, key_id
from evidence_store.signing import DeviceSigner, PublicKey, load_public_key, public_key_pem
from evidence_store.store import FilesystemStore
from evidence_store.timefmt import parse_utc
from evidence_store.upload import queue_late_file, store_late_file
from evidence_store.witnessing.client import WitnessClient, WitnessUnavailable

log = logging.getLogger("sealroom.witness")

EventHook = Callable[[str, str | None, dict[str, Any]], None]  # custody: action, session, detail


def device_identity(signer: DeviceSigner, name: str) -> dict[str, Any]:
    """Who submits: the device's public key, its certificate and chain, its name."""
    identity: dict[str, Any] = {"public_key": public_key_pem(signer.public_key).decode()}
    if (certificate := signer.certificate_pem()) is not None:
        identity["certificate"] = certificate.decode()
    if (chain := signer.chain_pem()) is not None:
        identity["chain"] = chain.decode()
    identity["name"] = name
    return identity


@dataclass
class _Head:
    session: str
    kind: str
    seq: int | None
    data: bytes
    signature: bytes

    @classmethod
    def of(cls, payload: dict[str, Any]) -> _Head:
        try:
            seq = payload.get("seq")
            return cls(
                layout.check_session_id(str(payload["session"])),
                str(payload["kind"]),
                None if seq is None else int(seq),
                base64.b64decode(payload["data"], validate=True),
                base64.b64decode(payload["signature"], validate=True),
            )
        except (KeyError, ValueError, TypeError, binascii.Error) as exc:
            raise DeliveryRefused(f"not a head: {exc}") from exc

    @property
    def receipt_name(self) -> str:
        return layout.SEAL_RECEIPT if self.seq is None else layout.receipt_name(self.seq)

    @property
    def head_name(self) -> str:
        return layout.MANIFEST if self.seq is None else layout.link_name(self.seq)


class WitnessDelivery:
    """Delivers the ``witness`` outbox's heads to one witness (see the module's docstring)."""

    def __init__(
        self,
        client: WitnessClient,
        store: FilesystemStore,
        identity: dict[str, Any],
        *,
        witness_keys: list[PublicKey],
        pin_dir: Path,
        outbox_root: Path,
        upload_late_files: bool,
        on_event: EventHook | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.identity = identity
        self.witness_keys = list(witness_keys)
        self.pin_dir = pin_dir
        self.outbox_root = outbox_root
        self.upload_late_files = upload_late_files
        self.on_event = on_event

    def __call__(self, item: OutboxItem) -> None:
        head = _Head.of(item.payload)
        try:
            self._deliver(head, catching_up=False)
        except WitnessUnavailable as exc:
            raise DeliveryDeferred(str(exc)) from exc

    def _deliver(self, head: _Head, *, catching_up: bool) -> None:
        status, answer = self.client.submit(
            {
                "session": head.session,
                "kind": head.kind,
                "data": base64.b64encode(head.data).decode(),
                "signature": base64.b64encode(head.signature).decode(),
                "device": self.identity,
            }
        )
        outcome = answer.get("status")
        if status == 200 and outcome in ("accepted", "held"):
            self._keep(head, answer)
            return
        if status == 409 and outcome == "gap" and not catching_up:
            self._catch_up(head, int(answer.get("expected_seq", 0)))
            self._deliver(head, catching_up=True)
            return
        reason = str(answer.get("reason") or _message(answer) or f"status {status}")
        if status == 409 and outcome == "fork":
            self._alarm(head, f"the witness refused {head.head_name} as a fork: {reason}")
            raise DeliveryRefused(f"refused by the witness as a fork: {reason}")
        if status in (400, 403, 404, 409, 413):
            self._alarm(head, f"the witness refused {head.head_name} ({status}): {reason}")
            raise DeliveryRefused(f"refused by the witness ({status}): {reason}")
        raise DeliveryDeferred(f"the witness answered {status}: {reason}")

    def _catch_up(self, head: _Head, expected: int) -> None:
        """Send the links the witness lacks, from the local store, before ``head``."""
        upto = head.seq
        if upto is None:
            upto = Manifest.parse(head.data, location=layout.MANIFEST).chain.length
        prefix = layout.session_prefix(head.session)
        for seq in range(expected, upto):
            name, sig_name = layout.link_name(seq), layout.link_sig_name(seq)
            try:
                earlier = _Head(
                    head.session,
                    "link",
                    seq,
                    self.store.read_bytes(prefix + name),
                    self.store.read_bytes(prefix + sig_name),
                )
            except (FileNotFoundError, StoreError) as exc:
                raise DeliveryRefused(
                    f"the witness lacks {name}, which the local store no longer holds"
                ) from exc
            self._deliver(earlier, catching_up=True)
        log.info("sent links %d to %d of %s the witness lacked", expected, upto - 1, head.session)

    def _keep(self, head: _Head, answer: dict[str, Any]) -> None:
        """Check the receipt, then store it with the session and queue it for the bucket."""
        try:
            data = base64.b64decode(str(answer["receipt"]), validate=True)
            receipt = Receipt.parse(data, location=head.receipt_name)
        except (KeyError, ValueError, binascii.Error, VerificationError) as exc:
            raise DeliveryDeferred(f"the witness's receipt cannot be read: {exc}") from exc
        entry = receipt.entry
        if (
            entry.session != head.session
            or entry.seq != head.seq
            or entry.sha256 != hashlib.sha256(head.data).hexdigest()
            or entry.fork
        ):
            raise DeliveryRefused("the witness's receipt is not for the head sent")
        keys = self._keys_for(receipt)
        try:
            check_receipt(receipt, keys, location=head.receipt_name)
        except VerificationError as exc:
            self._alarm(head, f"the witness's receipt does not check out: {exc}")
            raise DeliveryRefused(f"the witness's receipt does not check out: {exc}") from exc
        try:
            path, written = store_late_file(self.store, head.session, head.receipt_name, data)
        except NameTaken:
            log.error(
                "%s of %s already holds another receipt; it is kept as it is",
                head.receipt_name,
                head.session,
            )
            return
        except OSError as exc:
            raise DeliveryDeferred(f"cannot store the receipt: {exc}") from exc
        if written and self.upload_late_files:
            queue_late_file(
                self.outbox_root, head.session, head.receipt_name, data, after=head.head_name
            )
        if written and head.seq is None and self.on_event is not None:
            late = parse_utc(entry.received_at) - parse_utc(
                Manifest.parse(head.data, location=layout.MANIFEST).ended_at
            )
            self.on_event(
                "witnessed",
                head.session,
                {
                    "leaf_index": receipt.leaf_index,
                    "tree_size": receipt.tree_head.tree_size,
                    "witness": receipt.tree_head.log,
                    "received_at": entry.received_at,
                    "late_ms": round(late.total_seconds() * 1000),
                    "stored": path.name,
                },
            )

    def _keys_for(self, receipt: Receipt) -> list[PublicKey]:
        """The trusted witness keys; with none, the witness's own key, pinned now (TOFU)."""
        if self.witness_keys:
            return self.witness_keys
        pem = self.client.public_key_pem()
        key = load_public_key(pem, location="the witness's key")
        identity = key_id(key)
        if identity != receipt.tree_head.log:
            raise DeliveryRefused("the witness's key is not the one that signs its tree heads")
        pinned = self.pin_dir / f"witness-{identity[:16]}.pem"
        try:
            write_once(pinned, pem, mode=READ_ONLY)
        except NameTaken as exc:
            raise DeliveryRefused(f"{pinned} holds another key") from exc
        self.witness_keys = [key]
        log.warning(
            "pinned the witness key sha256:%s in %s (trust on first use); receipts signed by "
            "any other key are refused",
            identity,
            pinned,
        )
        if self.on_event is not None:
            self.on_event("witness_pinned", None, {"witness": identity, "file": pinned.name})
        return self.witness_keys

    def _alarm(self, head: _Head, message: str) -> None:
        log.error("ALARM: session %s: %s", head.session, message)
        if self.on_event is not None:
            self.on_event("alarm", head.session, {"kind": "witness_refused", "reason": message})


def _message(answer: dict[str, Any]) -> str | None:
    error = answer.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return None
