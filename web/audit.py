"""Custody events for the console: who (user and role), from where (IP, user agent), when.

All console writes to the custody log go through ``record`` so that no view assembles its
own event. Each event is filed under a unit as it is written (``FILED_UNDER`` in its detail,
decided by ``web.visibility.filed_under`` from trusted facts, never from what a request
names), and that is whose custody views show it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request
from flask_login import current_user

from evidence_store.custody import CustodyEntry, CustodyLog

EXTENSION_KEY = "sealroom.custody"
FILED_UNDER = "filed_under"  # the unit whose custody views show the event


def custody_log() -> CustodyLog:
    log: CustodyLog = current_app.extensions[EXTENSION_KEY]
    return log


def record(
    action: str,
    *,
    session_id: str | None = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
    role: str | None = None,
    denial: bool = False,
) -> CustodyEntry | None:
    """Append a custody event attributed to the current user and request (None: the custody
    database is damaged and the event was journaled, see ``evidence_store.custody``). A
    ``denial`` (a refused access) is filed under the actor's unit, not the unit of what they
    tried."""
    from web.visibility import filed_under  # visibility records its denials through here

    user_known = has_request_context() and current_user.is_authenticated
    ip = user_agent = None
    if has_request_context():
        ip = request.remote_addr
        user_agent = (request.user_agent.string or "")[:500] or None
    name = actor or (current_user.username if user_known else "anonymous")
    facts = {k: v for k, v in (detail or {}).items() if k != FILED_UNDER}
    unit = filed_under(name, session_id=None if denial else session_id, detail=facts, denial=denial)
    return custody_log().record(
        actor=name,
        role=role or (current_user.role if user_known else "none"),
        action=action,
        session_id=session_id,
        detail={**facts, FILED_UNDER: unit},
        ip=ip,
        user_agent=user_agent,
    )
