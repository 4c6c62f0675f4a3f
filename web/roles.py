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

# A prosecutor defines clips; a supervisor may too (reviewing the case file).
CLIP_AUTHORS = frozenset({Role.PROSECUTOR, Role.SUPERVISOR})
CLIP_READERS = EVIDENCE_READERS
# The court clerk and the prosecutor prepare hearings and drive the court screen.
HEARING_MANAGERS = frozenset({Role.COURT_CLERK, Role.PROSECUTOR})
HEARING_VIEWERS = HEARING_MANAGERS | {Role.SUPERVISOR, Role.AUDITOR}
PRESENTERS = HEARING_MANAGERS
# Alarms (a verification failed, a clock drifted) are for the unit's supervisors; the
# auditor sees them too.
ALARM_READERS = frozenset({Role.SUPERVISOR, Role.AUDITOR})
