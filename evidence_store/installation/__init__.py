"""One installation's files on disk: its data directory, keys, trust roots and databases,
and the framework of ``sealroom doctor``'s checks (``evidence_store.doctor`` holds them)."""

from evidence_store.installation.data_dir import DataDir
from evidence_store.installation.doctor import Check, Problem, Report, Severity, examine

__all__ = ["Check", "DataDir", "Problem", "Report", "Severity", "examine"]
