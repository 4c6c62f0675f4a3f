"""``sealroom recover``: finish the sessions a dead recorder left unsealed.

``sealroom record`` and ``sealroom recorder serve`` run the same recovery when they take the
room (``recorder.start``), so an explicit ``recover`` is only needed to seal what a crash left
without recording again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evidence_store import fan_out
from evidence_store.cli import (
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.index import reporting
from evidence_store.witnessing import WitnessLink
from recorder.recovery import RecoveryReport, recover_unfinished, seal_checks_for

WITNESS_FLUSH_SECONDS = 5.0


def describe(report: RecoveryReport) -> list[str]:
    """One line per session found, for a person."""
    lines = []
    for done in report.recovered:
        if done.outcome == "sealed":
            lines.append(
                f"{done.session_id}: sealing finished ({done.segments} segments; "
                f"it had ended: {done.reason})"
            )
        else:
            lines.append(
                f"{done.session_id}: INTERRUPTED and sealed, {done.segments} "
                f"segments, ended {done.ended_at} (recovered {done.recovered_at}) — {done.reason}"
            )
    lines += [f"{sid}: being recorded by a live process; left alone" for sid in report.busy]
    lines += [f"{r.session_id}: NOT RECOVERED — {r.reason}" for r in report.refused]
    lines += [
        f"{sid}: cut off before its first chain link; nothing was recorded" for sid in report.empty
    ]
    return lines


@click.command()
@data_dir_option
@json_option
@click.pass_context
def recover(ctx: click.Context, data_dir: Path | None, as_json: bool) -> None:
    """Seal the sessions a killed or crashed recorder left unfinished: exit 0 when every
    one was recovered (or is still being recorded), 1 when one does not check out."""
    data = data_dir_from(ctx, data_dir)
    store = data.store()
    signer = data.signer()
    custody = data.custody(store, signer)

    def witness_event(action: str, session_id: str | None, detail: dict[str, Any]) -> None:
        custody.record(
            actor=operator(), role="operator", action=action, session_id=session_id, detail=detail
        )

    witness = WitnessLink.open(data, on_event=witness_event)
    if witness is not None:
        witness.start()
    try:
        with reporting(data) as catalog:  # what recovery seals reaches the catalog too
            report = recover_unfinished(
                store,
                signer,
                custody,
                actor=operator(),
                role="operator",
                on_head=fan_out(None if witness is None else witness.hook, catalog.on_head),
                seal_checks=seal_checks_for(
                    data, store, None if witness is None else witness.client
                ),
            )
    finally:
        if witness is not None:
            witness.flush(WITNESS_FLUSH_SECONDS)
            witness.stop()
    if as_json:
        emit_json(report.as_dict())
    else:
        for line in describe(report) or ["nothing to recover"]:
            click.echo(line)
    ctx.exit(0 if report.ok else 1)


COMMANDS = [recover]
