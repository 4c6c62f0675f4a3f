"""One installation's files on disk: its data directory, keys, trust roots and databases."""

from evidence_store.installation.data_dir import DataDir

__all__ = ["DataDir"]
