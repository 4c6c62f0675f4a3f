"""Commands on sealed evidence: verify, show, sessions, custody."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from evidence_store import layout
from evidence_store.bucket import RetentionPolicy
from evidence_store.cli.options import (
    byte_progress,
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.custody import LOST_ROWS, RepairReport, repair_custody
from evidence_store.errors import UnknownSessionError, UsageError, VerificationError
from evidence_store.index import SessionIndex, list_sessions, read_manifest
from evidence_store.installation import DataDir
from evidence_store.receipts import (
    Lateness,
    default_late_tolerance,
    late_lines,
    never_heard,
    silences,
)
from evidence_store.signing import DeviceSigner, TrustStore
from evidence_store.store import EvidenceReader, FilesystemStore
from evidence_store.timefmt import format_utc, utc_now
from evidence_store.timestamping import TokenVerifier, token_verifier
from evidence_store.verify import verify_session
from evidence_store.witnessing import (
    WitnessClient,
    WitnessUnavailable,
    ask_witness,
    segment_seconds,
    witness_url,
)


def _existing_session(data: DataDir, session_id: str) -> None:
    layout.check_session_id(session_id)
    store = data.store()
    if not store.exists(layout.session_prefix(session_id) + layout.link_name(0)):
        raise UnknownSessionError(f"unknown session {session_id} in {data.root}")


def _any_of_session(data: DataDir, session_id: str) -> None:
    """A session is unknown only when nothing of it is stored: evidence that is partly there
    (its first link deleted, say) is verified, and fails, naming what is missing."""
    store = data.store()
    prefix = layout.session_prefix(session_id)
    if not store.list_keys(prefix) and not store.unfinished_writes(prefix):
        raise UnknownSessionError(f"unknown session {session_id} in {data.root}")


def _record_custody(data: DataDir, store: FilesystemStore, **event: Any) -> None:
    """Record a reading of evidence in the installation's custody log. A data directory
    without a device key has no log to keep (a copy on a third party's machine, say): the
    reading is not recorded, and no key, trust root or directory is made for it."""
    signer = data.existing_signer()
    if signer is None:
        click.echo(f"note: not recorded in a custody log: {data.root} has no device key", err=True)
        return
    data.custody(store, signer).record(actor=operator(), role="operator", **event)


@click.command()
@click.argument("session_id", metavar="SESSION")
@click.option(
    "--trust",
    "extra_trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="An extra trust root: a PEM certificate, public key, or a directory of them.",
)
@click.option(
    "--witness-key",
    "witness_keys",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A trusted witness key (PEM public key or certificate), for the session's receipts.",
)
@click.option(
    "--witness-url",
    default=None,
    help="Ask this witness (http(s)://host:port) rather than the configured one "
    "(SEALROOM_WITNESS_URL or [evidence] witness_url): a box's own setting may be wrong.",
)
@click.option(
    "--no-witness",
    is_flag=True,
    help="Do not ask the witness (the output says so): without it, a configured witness "
    "that cannot be asked makes the verdict INCOMPLETE (exit 3), never INTACT.",
)
@click.option(
    "--late-after",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Flag receipts received more than this many seconds after their heads were signed "
    "as LATE (default [evidence] witness_late_seconds, or segment_seconds + 15).",
)
@click.option(
    "--store",
    "store_kind",
    type=click.Choice(["local", "s3"]),
    default="local",
    show_default=True,
    help="Verify from the local store, or from the object store alone "
    "(SEALROOM_S3_* or [evidence.s3]).",
)
@click.option(
    "--tsa-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The time-stamp authority's root (PEM) to check the session's tokens against; "
    "default: SEALROOM_TSA_CA or [evidence] tsa_ca.",
)
@data_dir_option
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    session_id: str,
    extra_trust: tuple[Path, ...],
    witness_keys: tuple[Path, ...],
    witness_url: str | None,
    no_witness: bool,
    late_after: float | None,
    store_kind: str,
    tsa_ca: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Verify a session: exit 0 intact, 1 tampered or incomplete, 2 usage error, 3 intact
    as far as the box shows but the configured witness could not be asked (INCOMPLETE).

    Its time-stamp tokens are checked too, when the time-stamp authority's root is known.
    With a witness configured (SEALROOM_WITNESS_URL, [evidence] witness_url or --witness-url),
    the witness is asked what it holds of the session too, with a fresh nonce; what it holds
    must be what the session holds. Receipts that reached the witness late are flagged."""
    data = data_dir_from(ctx, data_dir)
    asking = _WitnessQuestion(
        url=None if no_witness else (witness_url or _configured_witness(data)),
        skipped=no_witness,
        late_after=late_after or data.settings.witness_late_seconds,
        timeout=data.settings.witness_timeout_seconds,
    )
    tokens = TokenVerifier.from_file(tsa_ca) if tsa_ca else token_verifier(data.settings)

    def trust() -> TrustStore:
        return data.trust(list(extra_trust), witness_keys=list(witness_keys))

    if store_kind == "s3":
        _verify_from_bucket(ctx, data, session_id, trust, tokens, asking, as_json=as_json)
        return
    layout.check_session_id(session_id)
    _any_of_session(data, session_id)
    store = data.store()
    prefix = layout.session_prefix(session_id)
    total = sum(store.size(k) for k in store.list_keys(prefix + "segments/"))
    outcome = _verify_outcome(store, session_id, trust, tokens, total, as_json)
    _ask_witness(asking, store, session_id, trust, outcome)
    _record_custody(
        data, store, action="verify", session_id=session_id, detail=_verify_detail(outcome)
    )
    _print_verify(outcome, as_json=as_json)
    ctx.exit(_exit_code(outcome))


def _verify_outcome(
    store: EvidenceReader,
    session_id: str,
    trust: Callable[[], TrustStore],
    tokens: TokenVerifier | None,
    total: int,
    as_json: bool,
) -> dict[str, Any]:
    try:
        with byte_progress("verifying", total, enabled=not as_json) as advance:
            result = verify_session(store, session_id, trust(), progress=advance, tokens=tokens)
        outcome: dict[str, Any] = result.as_dict()
    except VerificationError as failure:
        outcome = {
            "session_id": session_id,
            "intact": False,
            "result": failure.kind,
            "location": failure.location,
            "reason": failure.reason,
        }
    outcome["verified_at"] = format_utc(utc_now())
    return outcome


WITNESS_NOT_ASKED = "witness_not_asked"  # INCOMPLETE: the configured witness did not answer
EXIT_WITNESS_NOT_ASKED = 3


@dataclass(frozen=True)
class _WitnessQuestion:
    url: str | None  # None: no witness configured, or --no-witness
    skipped: bool  # --no-witness
    late_after: float | None
    timeout: float


def _configured_witness(data: DataDir) -> str | None:
    return witness_url(data.settings)


def _exit_code(outcome: dict[str, Any]) -> int:
    if outcome["intact"]:
        return 0
    return EXIT_WITNESS_NOT_ASKED if outcome["result"] == WITNESS_NOT_ASKED else 1


def _ask_witness(
    asking: _WitnessQuestion,
    store: EvidenceReader,
    session_id: str,
    trust: Callable[[], TrustStore],
    outcome: dict[str, Any],
) -> None:
    """Compare an intact session with what the witness holds of it, and flag late receipts
    (in place). A witness that cannot be asked makes the outcome INCOMPLETE, never intact."""
    tolerance = asking.late_after or default_late_tolerance(
        segment_seconds(store, session_id) or 60
    )
    report = outcome.get("witness")
    if report is not None:
        lateness = [Lateness(n, s) for n, s in report["lateness_seconds"].items()]
        report["late_tolerance_seconds"] = tolerance
        report["late"] = late_lines(lateness, tolerance)
    if asking.skipped:
        outcome["witness_asked"] = {"answered": False, "skipped": True}
        return
    url = asking.url
    # An incomplete session may be one whose end was removed: the witness can tell.
    if url is None or not (outcome["intact"] or outcome.get("result") == "incomplete"):
        return
    try:
        view = ask_witness(
            WitnessClient(url, timeout=asking.timeout),
            store,
            session_id,
            list(trust().witness_keys),
        )
    except WitnessUnavailable as exc:
        reason = f"the witness could not be asked: {exc}"
        _replace(outcome, session_id, WITNESS_NOT_ASKED, f"witness {url}", reason)
        return
    except VerificationError as failure:
        _replace(outcome, session_id, failure.kind, failure.location, failure.reason)
        return
    outcome["witness_asked"] = {
        "url": url,
        "answered": True,
        "links": view.links,
        "sealed": view.seal is not None,
        "forks": len(view.forks),
        "never_heard": never_heard(view),
        "last_heard_at": view.last_heard_at,
        "silences": [list(window) for window in silences(view, tolerance)],
    }


def _replace(
    outcome: dict[str, Any], session_id: str, result: str, location: str | None, reason: str
) -> None:
    outcome.clear()
    outcome.update(
        session_id=session_id,
        intact=False,
        result=result,
        location=location,
        reason=reason,
        verified_at=format_utc(utc_now()),
    )


def time_stamp_lines(outcome: dict[str, Any]) -> list[str]:
    """What the session's time-stamp tokens say, for a person: each token checked, and how
    long after the device's time the authority stamped it; or that they were not checked.
    Clock marks in the chain too. Nothing for a session without either."""
    lines: list[str] = []
    unchecked = outcome.get("unchecked_time_stamps", 0)
    stamps = outcome.get("time_stamps", [])
    if unchecked:
        lines.append(
            f"time-stamps: {unchecked} token(s) NOT checked: no time-stamp authority's root "
            "(--tsa-ca, SEALROOM_TSA_CA or [evidence] tsa_ca)"
        )
    elif stamps:
        lines.append(f"time-stamps: {len(stamps)} token(s), each checked against its authority")
    for stamp in stamps:
        lines.append(
            f"  {stamp['file']}: stamped {stamp['tsa_time']}, "
            f"{stamp['late_seconds']:+.1f} s from the device's time {stamp['device_time']}"
        )
    lines += [f"clock mark: {mark}" for mark in outcome.get("clock_marks", [])]
    return lines


def _verify_detail(outcome: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": "intact" if outcome["intact"] else outcome["result"],
        **(
            {}
            if outcome["intact"]
            else {"location": outcome["location"], "reason": outcome["reason"]}
        ),
    }


def _print_verify(outcome: dict[str, Any], *, as_json: bool) -> None:
    session_id = outcome["session_id"]
    if as_json:
        emit_json(outcome)
    elif outcome["intact"]:
        click.echo(
            f"{session_id}: INTACT — {outcome['segments']} segments, "
            f"{outcome['duration_seconds']} s, chain of {outcome['chain_length']} links, "
            f"head {outcome['head']}, signed by {outcome['signer']}"
        )
        for line in [*time_stamp_lines(outcome), *_witness_lines(outcome)]:
            click.echo(f"  {line}")
    elif outcome["result"] == WITNESS_NOT_ASKED:
        click.echo(
            f"{session_id}: INCOMPLETE — {outcome['location']}: {outcome['reason']} "
            "(the box's own evidence may be intact; without the witness nothing shows it was "
            "not shortened or re-sealed: ask it again, or pass --no-witness to verify without it)"
        )
    else:
        where = f"{outcome['location']}: " if outcome["location"] else ""
        click.echo(
            f"{session_id}: {outcome['result'].upper()} — first failure: {where}{outcome['reason']}"
        )


def _witness_lines(outcome: dict[str, Any]) -> list[str]:
    """What the receipts and the witness say, for a person: the warnings first."""
    lines = []
    report = outcome.get("witness")
    asked = outcome.get("witness_asked")
    if asked is not None and asked.get("never_heard"):
        lines.append(
            f"WARNING: the witness {asked['url']} has never heard of this session: nothing "
            "outside this box vouches that it was recorded, or when"
        )
    if report is not None:
        lines += report.get("late", [])
        if report["state"] == "not yet witnessed" and asked is None:
            lines.append(
                "witness: none configured and no receipts: nothing outside this box vouches "
                "for what it sealed, or when"
            )
        elif report["state"] == "not yet witnessed":
            lines.append("witness: NOT YET WITNESSED (no receipt yet; not a sign of tampering)")
        else:
            late = report["max_lateness_seconds"]
            lines.append(
                f"witness: {report['state']}: {report['links_witnessed']} of {report['links']} "
                f"links{' and the seal' if report['seal_witnessed'] else ''} have receipts"
                + ("" if late is None else f", received at most {late:.1f} s after signing")
            )
    if asked is not None and asked.get("skipped"):
        lines.append("witness: NOT ASKED (--no-witness): nothing outside this box was consulted")
    elif asked is not None and not asked.get("never_heard"):
        lines.append(
            f"witness {asked['url']} holds {asked['links']} links"
            f"{' and the seal' if asked['sealed'] else ''}: the same as the session"
        )
        lines += [
            f"LATE: the session was silent at the witness from {start} to {end}"
            for start, end in asked["silences"]
        ]
        if not asked["sealed"] and asked["last_heard_at"]:
            lines.append(f"witness: last heard of this session at {asked['last_heard_at']}")
    return lines


def _verify_from_bucket(
    ctx: click.Context,
    data: DataDir,
    session_id: str,
    trust: Callable[[], TrustStore],
    tokens: TokenVerifier | None,
    asking: _WitnessQuestion,
    *,
    as_json: bool,
) -> None:
    """Verify from the object store alone: the first version of every object, streamed."""
    from evidence_store.bucket import S3Access, S3Store  # the SDK loads only when needed

    layout.check_session_id(session_id)
    bucket = S3Store.connect(S3Access.from_settings(data.settings.s3))
    prefix = layout.session_prefix(session_id)
    keys = bucket.list_keys(prefix)
    if not keys:  # partly there is not unknown: it is verified, and fails
        raise UnknownSessionError(f"unknown session {session_id} in {bucket.describe()}")
    total = sum(bucket.size(k) for k in keys if k.startswith(prefix + "segments/"))
    outcome = _verify_outcome(bucket, session_id, trust, tokens, total, as_json)
    _ask_witness(asking, bucket, session_id, trust, outcome)
    outcome["store"] = bucket.describe()
    covered = bucket.shadowed(prefix)
    if covered:
        outcome["covered_objects"] = covered
        click.echo(
            f"warning: {len(covered)} object(s) of {session_id} have a newer version or a "
            f"delete marker on top of the locked original (first: {covered[0]}); "
            "the originals were verified",
            err=True,
        )
    if data.evidence.is_dir():  # on an appliance or console: log it; a third party has no log
        _record_custody(
            data,
            data.store(),
            action="verify",
            session_id=session_id,
            detail={**_verify_detail(outcome), "store": bucket.describe()},
        )
    _print_verify(outcome, as_json=as_json)
    ctx.exit(_exit_code(outcome))


@click.command()
@click.argument("session_id", metavar="SESSION")
@data_dir_option
@json_option
@click.pass_context
def show(ctx: click.Context, session_id: str, data_dir: Path | None, as_json: bool) -> None:
    """Print a session's sealed manifest (not verified: use `verify` for that)."""
    data = data_dir_from(ctx, data_dir)
    _existing_session(data, session_id)
    store = data.store()
    manifest = read_manifest(store, session_id)
    _record_custody(data, store, action="show", session_id=session_id)
    if as_json:
        emit_json(manifest.to_document())
        return
    meta = manifest.metadata
    click.echo(f"session   {manifest.session}\ncase      {meta.case_number}\nroom      {meta.room}")
    click.echo(f"accused   {', '.join(meta.accused) or '-'}")
    click.echo(
        f"started   {manifest.started_at}\nended     {manifest.ended_at} ({manifest.stop_reason})"
    )
    if manifest.recovered_at is not None:
        click.echo(f"recovered {manifest.recovered_at} (the recording was cut off)")
    for pause in manifest.pauses:
        click.echo(f"paused    {pause.paused_at} – {pause.resumed_at or '…'}: {pause.reason}")
    click.echo(f"segments  {len(manifest.segments)} ({manifest.duration_us / 1e6:.1f} s)")
    click.echo(f"head      {manifest.chain.head}")


@click.command()
@click.option(
    "--index",
    "from_index",
    is_flag=True,
    help="List from the session index (kept by the console; rebuilt from the bucket by "
    "`sealroom reindex`).",
)
@data_dir_option
@json_option
@click.pass_context
def sessions(ctx: click.Context, from_index: bool, data_dir: Path | None, as_json: bool) -> None:
    """List the sessions in the data directory."""
    data = data_dir_from(ctx, data_dir)
    if from_index:
        index = SessionIndex.open(data.index_url())
        try:
            found = index.all()
        finally:
            index.close()
    else:
        policy = RetentionPolicy(data.settings.s3.retention)
        found = list_sessions(data.store(), policy) if data.evidence.is_dir() else []
    rows = [summary.as_dict() for summary in found]
    if as_json:
        emit_json(rows)
        return
    table = Table("room", "case", "state", "started (UTC)", "seconds")
    table.add_column("session", no_wrap=True)
    for row in rows:
        table.add_row(
            row["room"],
            row["case_number"],
            row["state"],
            row["started_at"] or "-",
            f"{row['duration_seconds']:.1f}",
            row["session_id"],
        )
    Console().print(table)


def _checkpoint_signer(data: DataDir) -> DeviceSigner:
    """The key that signed the custody checkpoints; reading the log never makes one."""
    signer = data.existing_signer()
    if signer is None:
        raise UsageError(
            f"{data.root} has no device key (keys/): there is no custody log here to read"
        )
    return signer


@click.group()
def custody() -> None:
    """The chain-of-custody log."""


@custody.command("verify")
@data_dir_option
@json_option
@click.pass_context
def custody_verify(ctx: click.Context, data_dir: Path | None, as_json: bool) -> None:
    """Check every custody row and every checkpoint: exit 0 intact, 1 not."""
    data = data_dir_from(ctx, data_dir)
    store = data.store()
    log = data.custody(store, _checkpoint_signer(data))
    try:
        report = log.verify(tokens=token_verifier(data.settings))
    except VerificationError as failure:
        if as_json:
            emit_json({"intact": False, "location": failure.location, "reason": failure.reason})
        else:
            click.echo(f"custody log: TAMPERED — {failure}")
        ctx.exit(1)
    if as_json:
        emit_json({"intact": report.complete, **report.as_dict()})
    elif report.complete:
        click.echo(
            f"custody log: INTACT — {report.rows} rows, head {report.head}, "
            f"{report.checkpoints} checkpoints (last at row {report.last_checkpoint_seq}), "
            f"{report.stamped_checkpoints} of them time-stamped"
        )
    else:
        spans = ", ".join(f"{first}–{last}" for first, last in report.lost)
        click.echo(
            f"custody log: INCOMPLETE — rows {spans} were lost and could not be rebuilt "
            f"(`sealroom custody log --action {LOST_ROWS}` says when and why); the other "
            f"{report.rows} rows and {report.checkpoints} checkpoints check out"
        )
    ctx.exit(0 if report.complete else 1)


@custody.command("repair")
@data_dir_option
@json_option
@click.pass_context
def custody_repair(ctx: click.Context, data_dir: Path | None, as_json: bool) -> None:
    """Rebuild a damaged custody log from what it still holds, name the rows that cannot be
    rebuilt, and append the events journaled meanwhile. Exit 0 when nothing was lost."""
    data = data_dir_from(ctx, data_dir)
    store = data.store()
    stamper = data.stamper()
    report = repair_custody(
        data.custody_url,
        store,
        data.signer(),
        data.custody_journal,
        on_checkpoint=stamper.on_checkpoint if stamper else None,
    )
    if as_json:
        emit_json(report.as_dict())
    else:
        for line in repair_lines(report):
            click.echo(line)
    ctx.exit(1 if report.lost else 0)


def repair_lines(report: RepairReport) -> list[str]:
    """What a repair did and what it could not do, for a person."""
    if report.damage is None and not report.replayed:
        return ["custody log: sound, and no journaled events: nothing to repair"]
    lines = []
    if report.damage is not None:
        lines.append(f"custody log: damaged: {report.damage}")
        lines.append(f"  rebuilt {report.kept_rows} row(s) that check out")
    if report.damaged_copy:
        lines.append(f"  the damaged database is kept at {report.damaged_copy}")
    if report.lost:
        first, last = report.lost
        lines.append(
            f"  CANNOT REBUILD rows {first}–{last}: their signed checkpoints prove they existed; "
            "restore them from a backup (`sealroom restore`) to see what they said"
        )
    if report.replayed:
        lines.append(f"  appended {report.replayed} event(s) journaled while it was damaged")
    if report.journal_copy:
        lines.append(f"  the journal is kept at {report.journal_copy}")
    return lines


@custody.command("log")
@click.option("--session", "session_id", default=None, help="Only this session.")
@click.option("--actor", default=None)
@click.option("--action", default=None)
@click.option("--since", default=None, help="UTC timestamp, e.g. 2026-11-22T00:00:00.000000Z")
@click.option("--until", default=None)
@data_dir_option
@json_option
@click.pass_context
def custody_log(
    ctx: click.Context,
    session_id: str | None,
    actor: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Print custody events, oldest first."""
    data = data_dir_from(ctx, data_dir)
    log = data.custody(data.store(), _checkpoint_signer(data))
    entries = log.entries(
        session_id=session_id, actor=actor, action=action, since=since, until=until
    )
    if as_json:
        emit_json([e.as_dict() for e in entries])
        return
    for e in entries:
        click.echo(
            f"{e.seq:>6} {e.at} {e.actor} ({e.role}) {e.action} {e.session_id or '-'} "
            f"{json.dumps(e.detail, ensure_ascii=False)}"
        )


COMMANDS = [verify, show, sessions, custody]
