"""The chain-of-custody log: who did what to which evidence, and when; append-only, hash-chained,
with its head checkpointed into the write-once store. While its database is damaged, events
wait in a journal file; ``repair_custody`` rebuilds the log and replays them."""

from evidence_store.custody.journal import JOURNAL_NAME, CustodyJournal, JournaledEvent
from evidence_store.custody.log import LOST_ROWS, CustodyEntry, CustodyLog, CustodyReport
from evidence_store.custody.repair import RepairReport, repair_custody

__all__ = [
    "JOURNAL_NAME",
    "LOST_ROWS",
    "CustodyEntry",
    "CustodyJournal",
    "CustodyLog",
    "CustodyReport",
    "JournaledEvent",
    "RepairReport",
    "repair_custody",
]
