"""The console's roles. Each route names the roles it admits (see ``web.access``)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    INVESTIGATOR = "investigator"
    PROSECUTOR = "prosecutor"
    COURT_CLERK = "court_clerk"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
# Roles that may see evidence of their unit and below. The administrator manages people and
# rooms, never evidence.
EVIDENCE_READERS = frozenset(
    {Role.INVESTIGATOR, Role.PROSECUTOR, Role.COURT_CLERK, Role.SUPERVISOR, Role.AUDITOR}
)
