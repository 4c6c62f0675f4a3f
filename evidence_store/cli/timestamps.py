"""``sealroom timestamps``: the time-stamp requests waiting to leave, and sending them now.

A room's recorder sends them on its own thread while it holds the room; this sends what
waits when no recorder runs (a console-only machine, the custody checkpoints of commands, or
after the authority was down while the last recorder stopped).
"""

from __future__ import annotations

from pathlib import Path

import click

from evidence_store.cli.options import (
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.errors import UsageError
from evidence_store.outbox import Outbox, OutboxSender, Route
from evidence_store.timestamping import TSA_OUTBOX, StampDelivery, StampRecord, record_stamp


@click.group()
def timestamps() -> None:
    """Trusted time: RFC 3161 time-stamps from the configured authority."""


@timestamps.command("send")
@data_dir_option
@json_option
@click.pass_context
def send(ctx: click.Context, data_dir: Path | None, as_json: bool) -> None:
    """Send the queued time-stamp requests once: exit 0 when none is left waiting, 1 when
    some still wait (the authority cannot be reached), 2 without an authority."""
    data = data_dir_from(ctx, data_dir)
    config = data.tsa()
    if config is None or not config.stamping:
        raise UsageError("no time-stamp authority: set SEALROOM_TSA_URL and SEALROOM_TSA_CA")
    store = data.store()
    custody = data.custody(store, data.signer())
    actor = operator()

    def on_stamped(record: StampRecord) -> None:
        record_stamp(
            custody,
            record,
            actor=actor,
            role="operator",
            tolerance=config.timing.tolerance_seconds,
        )

    outbox = Outbox(data.outbox_root, TSA_OUTBOX)
    route = Route(outbox, StampDelivery(store, config.client(), on_stamped=on_stamped))
    sender = OutboxSender([route])
    sent = 0
    while delivered := sender.drain_once():  # the queue is read in batches
        sent += delivered
    status, backlog = sender.statuses()[0], outbox.backlog()
    report = {
        "sent": sent,
        "waiting": backlog.items,
        "set_aside": backlog.refused,
        "error": status.last_error,
    }
    if as_json:
        emit_json(report)
    else:
        click.echo(
            f"time-stamps: {sent} sent, {backlog.items} waiting, {backlog.refused} set aside"
            + (f" (last error: {status.last_error})" if status.last_error else "")
        )
    ctx.exit(1 if backlog.items else 0)


COMMANDS = [timestamps]
