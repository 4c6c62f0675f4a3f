"""An appliance's link to its witness: the hook its session writers queue heads with, and
the sender that drains the queue on a thread of its own.

Configured by ``$SEALROOM_WITNESS_URL`` or ``[evidence] witness_url``; with neither, there is
no link, and nothing is queued. The recorder service runs the sender for its whole life (heads
leave within seconds); ``sealroom record`` runs it while recording and gives it a few seconds
at the end (``flush``); the uploader runs it too, so what a crash or an outage left behind
leaves as soon as anything runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from evidence_store.installation import DataDir
from evidence_store.outbox import Backoff, Outbox, OutboxSender, Route
from evidence_store.session import HeadHook
from evidence_store.settings import EvidenceSettings
from evidence_store.witnessing.client import WitnessClient
from evidence_store.witnessing.delivery import EventHook, WitnessDelivery, device_identity
from evidence_store.witnessing.heads import DESTINATION, head_queue

URL_ENV = "SEALROOM_WITNESS_URL"


def witness_url(settings: EvidenceSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The configured witness: the environment first, then ``[evidence] witness_url``."""
    env = os.environ if environ is None else environ
    return env.get(URL_ENV) or settings.witness_url or None


@dataclass
class WitnessLink:
    outbox: Outbox
    sender: OutboxSender
    client: WitnessClient

    @property
    def hook(self) -> HeadHook:
        """For ``SessionWriter``: queue each signed head, and wake the sender."""
        return head_queue(self.outbox, self.sender.wake)

    @classmethod
    def open(
        cls,
        data: DataDir,
        *,
        on_event: EventHook | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> WitnessLink | None:
        """The data directory's link to its witness, or None when none is configured."""
        url = witness_url(data.settings, environ)
        if url is None:
            return None
        client = WitnessClient(url, timeout=data.settings.witness_timeout_seconds)
        store = data.store(create=True)
        signer = data.signer()
        bucket = data.settings.s3.with_environment(environ).endpoint is not None
        delivery = WitnessDelivery(
            client,
            store,
            device_identity(signer, data.settings.signing.device_name),
            witness_keys=list(data.trust().witness_keys),
            pin_dir=data.witness_trust,
            outbox_root=data.outbox_root,
            upload_late_files=bucket,
            on_event=on_event,
        )
        outbox = Outbox(data.outbox_root, DESTINATION)
        route = Route(outbox, delivery, backoff=Backoff(initial=1.0, maximum=60.0))
        return cls(outbox, OutboxSender([route]), client)

    def start(self) -> None:
        self.sender.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.sender.stop(timeout)

    def flush(self, seconds: float) -> int:
        """Send what waits for up to ``seconds``; returns how many heads are left queued."""
        deadline = time.monotonic() + seconds
        while self.outbox.backlog().items and time.monotonic() < deadline:
            self.sender.wake()
            time.sleep(0.05)
        return self.outbox.backlog().items
