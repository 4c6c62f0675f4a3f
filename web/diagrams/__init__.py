"""Diagrams: uploads told by their bytes, write-once originals, display pages and annotations."""

from web.diagrams.config import exhibit_store
from web.diagrams.payload import diagram_payload
from web.diagrams.store import StoreCorrupted
from web.diagrams.views import blueprint

__all__ = ["StoreCorrupted", "blueprint", "diagram_payload", "exhibit_store"]
