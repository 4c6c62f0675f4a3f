"""``sealroom doctor``'s checks of an installation, each a small function.

A check takes the installation (``DataDir``) and returns the problems it found, each with a
severity; a check that can repair what it finds has a ``fix`` too. ``examine`` runs them
all (fixing first when asked) and says whether anything serious remains. A new check is one
function and one ``Check`` entry in ``CHECKS``; nothing else changes. The checks of the
evidence (custody log, databases, bucket, clock, keys) are in ``evidence_store.doctor``, and
checks that need another package's settings (the recorder's, the console's) are made by that
package and handed to ``examine`` by the command line (``sealroom.cli``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from evidence_store.installation.data_dir import DataDir
from evidence_store.installation.permissions import open_paths, tighten

MAX_LISTED = 50  # paths named in one problem; the count says how many there are


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    SERIOUS = "serious"  # the installation is unsafe or broken: the exit status says so


@dataclass(frozen=True)
class Problem:
    check: str
    severity: Severity
    message: str
    fixable: bool = False
    paths: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "message": self.message,
            "fixable": self.fixable,
            "paths": list(self.paths),
        }


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[DataDir], list[Problem]]
    fix: Callable[[DataDir], list[str]] | None = None  # returns what it changed


@dataclass
class Report:
    problems: list[Problem]
    fixed: list[str] = field(default_factory=list)

    @property
    def serious(self) -> bool:
        return any(p.severity is Severity.SERIOUS for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "serious": self.serious,
            "problems": [p.as_dict() for p in self.problems],
            "fixed": self.fixed,
        }


# -- the checks ----------------------------------------------------------------------------


def check_permissions(data: DataDir) -> list[Problem]:
    """Nothing in the data directory is open to other local users (nor to its group, unless
    ``[evidence] group_readable``)."""
    found = open_paths(data.root, data.permissions)
    if not found:
        return []
    to_others = [p for p in found if p.excess & 0o007]
    severity = (
        Severity.SERIOUS if to_others or not data.permissions.group_readable else (Severity.WARNING)
    )
    shown = to_others or found
    message = (
        f"{len(found)} path(s) in {data.root} allow more than "
        f"{'the owner and group reading' if data.permissions.group_readable else 'the owner'}"
        f"{f', {len(to_others)} of them to every local user' if to_others else ''}: "
        f"{shown[0].describe()}"
    )
    return [
        Problem(
            "permissions",
            severity,
            message,
            fixable=True,
            paths=tuple(str(p.path) for p in shown[:MAX_LISTED]),
        )
    ]


def fix_permissions(data: DataDir) -> list[str]:
    return [f"tightened {p.describe()}" for p in tighten(data.root, data.permissions)]


CHECKS: tuple[Check, ...] = (Check("permissions", check_permissions, fix_permissions),)


def examine(data: DataDir, *, fix: bool = False, checks: Sequence[Check] = CHECKS) -> Report:
    """Run every check; with ``fix``, repair what can be repaired first, then check again.
    A check that fails outright is itself a serious problem, never a crash of the doctor."""
    fixed: list[str] = []
    if fix:
        for check in checks:
            if check.fix is not None and _run(check, data):
                fixed += check.fix(data)
    problems = [problem for check in checks for problem in _run(check, data)]
    return Report(problems, fixed)


def _run(check: Check, data: DataDir) -> list[Problem]:
    try:
        return check.run(data)
    except Exception as exc:  # a check that cannot run says so, and the others still run
        return [Problem(check.name, Severity.SERIOUS, f"the check could not run: {exc}")]
