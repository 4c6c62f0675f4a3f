"""Verifying a session from any store: the first failure is raised with its reason.

``python -m evidence_store.verify SESSION_DIR [--trust ROOT.pem] [--json]`` runs it on its
own, with nothing but ``cryptography`` and ``pydantic`` installed."""

from evidence_store.verify.session import VerifiedSession, verify_session

__all__ = ["VerifiedSession", "verify_session"]
