"""Units as people know them: by their names, not their codes."""

from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import select

from web.extensions import db
from web.models import Unit


def unit_name(code: str | None) -> str:
    """The unit's name ("Viện kiểm sát nhân dân tối cao"), its code where it has none or is
    unknown. Names are read once per request."""
    if not code:
        return ""
    if not has_app_context():
        return code
    names: dict[str, str] | None = g.get("unit_names")
    if names is None:
        rows = db.session.execute(select(Unit.code, Unit.name)).all()
        names = {row.code: row.name or row.code for row in rows}
        g.unit_names = names
    return names.get(code, code)
