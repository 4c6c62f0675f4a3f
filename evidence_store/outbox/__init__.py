"""What leaves the box: durable queues on disk for the witness, the time-stamp authority and
the catalog, and the sender that drains them without ever making anyone wait."""

from evidence_store.outbox.backoff import Backoff
from evidence_store.outbox.queue import Outbox, OutboxBacklog, OutboxItem
from evidence_store.outbox.sender import (
    Delivery,
    DeliveryDeferred,
    DeliveryRefused,
    OutboxSender,
    Route,
    RouteStatus,
)

__all__ = [
    "Backoff",
    "Delivery",
    "DeliveryDeferred",
    "DeliveryRefused",
    "Outbox",
    "OutboxBacklog",
    "OutboxItem",
    "OutboxSender",
    "Route",
    "RouteStatus",
]
