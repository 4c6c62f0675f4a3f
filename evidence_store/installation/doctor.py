"""``sealroom doctor``'s checks of an installation, each a small function.

A check takes the installation (``DataDir``) and returns the problems it found, each with a
severity; a check that can repair what it finds has a ``fix`` too. ``examine`` runs them
all (fixing first when asked) and says whether anything serious remains. A new check is one
function and one ``Check`` entry in ``CHECKS``; nothing else changes. Checks that need
another package's settings (the recorder's, the console's) are made by that package and
handed to ``examine`` by the command line (``sealroom.cli``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from evidence_store.installation.data_dir import DataDir

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


def examine(data: DataDir, *, fix: bool = False, checks: Sequence[Check] = ()) -> Report:
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
