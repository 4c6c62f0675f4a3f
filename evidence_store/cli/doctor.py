"""``sealroom doctor``: check an installation (``evidence_store.installation.examine``), with
its own checks (permissions), those of ``evidence_store.doctor`` and those the shell adds
under ``DOCTOR_CHECKS``; with ``--fix`` it repairs what can be repaired. Exit status 1 when
anything serious remains."""

from __future__ import annotations

from pathlib import Path

import click

from evidence_store.cli.options import data_dir_from, data_dir_option, emit_json, json_option
from evidence_store.doctor import CHECKS as EVIDENCE_CHECKS
from evidence_store.installation import CHECKS as INSTALLATION_CHECKS
from evidence_store.installation import Check, examine

SERIOUS_EXIT = 1
DOCTOR_CHECKS = "sealroom.doctor_checks"  # ctx.meta: checks other packages add


@click.command()
@click.option("--fix", is_flag=True, help="Repair what can be repaired, then check again.")
@data_dir_option
@json_option
@click.pass_context
def doctor(ctx: click.Context, fix: bool, data_dir: Path | None, as_json: bool) -> int:
    """Check the installation: each problem with its severity; exit 1 if any is serious."""
    data = data_dir_from(ctx, data_dir)
    extra: list[Check] = ctx.meta.get(DOCTOR_CHECKS) or []
    report = examine(data, fix=fix, checks=(*INSTALLATION_CHECKS, *EVIDENCE_CHECKS, *extra))
    if as_json:
        emit_json({"data_dir": str(data.root), **report.as_dict()})
    else:
        for line in report.fixed:
            click.echo(f"fixed: {line}")
        for problem in report.problems:
            fix_hint = " (sealroom doctor --fix repairs it)" if problem.fixable and not fix else ""
            click.echo(f"{problem.severity.value}: {problem.check}: {problem.message}{fix_hint}")
        if not report.problems:
            click.echo(f"{data.root}: no problems found")
    ctx.exit(SERIOUS_EXIT if report.serious else 0)


COMMANDS = [doctor]
