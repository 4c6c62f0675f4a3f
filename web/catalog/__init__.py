"""The catalog's ingest: the endpoint where room appliances report their sessions."""

from web.catalog.views import blueprint

__all__ = ["blueprint"]
