"""The off-box witness: a central-site transparency log (RFC 9162) of every signed chain head
the appliances send, which knows each session's chain, keeps forks as evidence, and answers
every head with a receipt. It is not part of the evidence format: it uses the format core's
public API (the documents, ``merkle``, ``receipts``) and nothing imports it but the shell.

``sealroom witness serve`` runs it (``witness.cli``); ``witness.api`` is its HTTP API,
``witness.service`` its rules, ``witness.tree`` its Merkle tree in SQL.
"""

from evidence_store import DatabaseSettings  # the site's one [database], shared
from witness.api import ROUTE_RULES, create_app
from witness.cli import COMMANDS, open_witness
from witness.identity import WitnessIdentity
from witness.service import Outcome, Witness
from witness.settings import DATABASE_KEY, SETTINGS_KEY, WitnessSettings
from witness.stamping import Stamp, TreeHeadStamper

__all__ = [
    "COMMANDS",
    "DATABASE_KEY",
    "ROUTE_RULES",
    "SETTINGS_KEY",
    "DatabaseSettings",
    "Outcome",
    "Stamp",
    "TreeHeadStamper",
    "Witness",
    "WitnessIdentity",
    "WitnessSettings",
    "create_app",
    "open_witness",
]
