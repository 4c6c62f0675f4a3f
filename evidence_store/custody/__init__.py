"""The chain-of-custody log: who did what to which evidence, and when; append-only, hash-chained,
with its head checkpointed into the write-once store."""

from evidence_store.custody.log import CustodyEntry, CustodyLog, CustodyReport

__all__ = ["CustodyEntry", "CustodyLog", "CustodyReport"]
