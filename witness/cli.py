"""``sealroom witness serve`` and ``sealroom witness verify``.

``serve`` runs the witness (waitress, threads) until SIGTERM or Ctrl-C, and prints
``witness listening on http://H:P`` once it accepts connections. With a time-stamp authority
configured (``$SEALROOM_TSA_URL`` and ``$SEALROOM_TSA_CA``, or ``[evidence] tsa_url`` and
``tsa_ca``), its tree heads are time-stamped (``witness.stamping``).

``verify`` checks that the log only grew between two signed tree heads: two kept STH files,
or one kept file against the witness's newest. Both signatures are checked against the
trusted witness key, and the consistency proof (RFC 9162) is fetched from the witness. Exit 0
consistent, 1 not (a rewritten log, a forged head), 2 usage error or the witness could not
be asked.
"""

from __future__ import annotations

import logging
import signal
import types
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
import waitress
from sqlalchemy.orm import Session

from evidence_store import (
    DatabaseSettings,
    TreeHead,
    TrustStore,
    UsageError,
    VerificationError,
    merkle,
    trusted_key,
)
from evidence_store.cli import data_dir_from, emit_json, json_option
from evidence_store.metrics import MetricsServer, metrics_options, serve_metrics
from evidence_store.timestamping import tsa_config
from evidence_store.witnessing import WitnessClient, WitnessUnavailable, witness_url
from witness.api import create_app
from witness.identity import PUBLIC_FILE, WitnessIdentity
from witness.metrics import WitnessCollector
from witness.service import Witness
from witness.settings import (
    DATABASE_KEY,
    SETTINGS_KEY,
    WitnessSettings,
    database_url,
    operator_token,
    witness_data_dir,
)
from witness.stamping import Stamp, TreeHeadStamper

log = logging.getLogger("sealroom.witness")
SERVER_THREADS = 8


class _Shutdown(SystemExit):
    """SIGTERM or SIGINT. A SystemExit, so that no request handler in the server's loop can
    swallow it as that request's error; waitress ends its loop on it."""


def _shut_down(signum: int, _frame: types.FrameType | None) -> NoReturn:
    log.info("%s: shutting down", signal.Signals(signum).name)
    raise _Shutdown(0)


def _settings(ctx: click.Context) -> tuple[WitnessSettings, DatabaseSettings]:
    return (
        ctx.meta.get(SETTINGS_KEY) or WitnessSettings(),
        ctx.meta.get(DATABASE_KEY) or DatabaseSettings(),
    )


def open_witness(settings: WitnessSettings, database: DatabaseSettings, data_dir: Path) -> Witness:
    """The witness of ``data_dir``: its key (created on first use) and its log."""
    identity = WitnessIdentity.load_or_create(data_dir, name=settings.name)
    roots = TrustStore.from_paths([p for p in settings.device_roots if p.exists()])
    return Witness.open(database_url(database, data_dir), identity, roots)


@click.group("witness")
def witness_group() -> None:
    """The off-box witness: a transparency log of every session's signed heads."""


@witness_group.command()
@click.option("--host", default=None, help="Address to listen on (default from config: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8760; 0: any free port).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The witness's data directory (default: $SEALROOM_WITNESS_DATA_DIR, ./witness-data).",
)
@metrics_options
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    metrics_port: int | None,
    metrics_host: str | None,
) -> None:
    """Run the witness until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings, database = _settings(ctx)
    root = witness_data_dir(data_dir, settings)
    witness = open_witness(settings, database, root)
    evidence = data_dir_from(ctx, None).settings
    tsa = tsa_config(evidence)  # $SEALROOM_TSA_URL/_CA, [evidence]
    stamper = _stamper(
        witness, settings, stamp=tsa.client().stamp if tsa is not None and tsa.stamping else None
    )
    app = create_app(
        witness,
        public_key_pem=(root / PUBLIC_FILE).read_bytes(),
        token=operator_token(settings),
        max_bytes=settings.max_request_kib * 1024,
    )
    previous = {sig: signal.signal(sig, _shut_down) for sig in (signal.SIGTERM, signal.SIGINT)}
    server: Any = None
    metrics: MetricsServer | None = None
    try:
        if metrics_port is not None:
            host_ = metrics_host or evidence.operations.metrics_host
            metrics = serve_metrics(metrics_port, host_, WitnessCollector(witness))
        server = waitress.create_server(
            app,
            host=host or settings.host,
            port=settings.port if port is None else port,
            threads=SERVER_THREADS,
            ident="sealroom-witness",
        )
        click.echo(f"witness listening on http://{server.effective_host}:{server.effective_port}")
        log.info("witness key sha256:%s, log at %s", witness.identity.key_id, root)
        server.run()
    except _Shutdown:
        pass  # waitress usually ends its loop on it first
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc.strerror or exc}") from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.close()
        if metrics is not None:
            metrics.close()
        if stamper is not None:
            stamper.stop()
        witness.close()


def _stamper(
    witness: Witness, settings: WitnessSettings, stamp: Stamp | None
) -> TreeHeadStamper | None:
    """Time-stamp tree heads when a TSA client is given (see ``witness.stamping``)."""
    if stamp is None:
        log.warning("no time-stamp authority configured: tree heads are not time-stamped")
        return None
    stamper = TreeHeadStamper(
        lambda: Session(witness.engine), stamp, every=timedelta(minutes=settings.stamp_minutes)
    )
    stamper.start()
    return stamper


@witness_group.command("verify")
@click.argument("kept", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument(
    "newer", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--url", default=None, help="The witness (default: $SEALROOM_WITNESS_URL).")
@click.option(
    "--witness-key",
    "keys",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="The witness's public key or certificate (PEM); default: the trusted witness keys "
    "of the data directory.",
)
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    kept: Path,
    newer: Path | None,
    url: str | None,
    keys: tuple[Path, ...],
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Check that the witness's log only grew from the tree head KEPT to NEWER (or to the
    witness's newest): exit 0 consistent, 1 not, 2 usage error or no answer."""
    data = data_dir_from(ctx, data_dir)
    trust = TrustStore().with_witness_keys(list(keys)) if keys else data.trust()
    if not trust.witness_keys:
        raise UsageError("no trusted witness key: give it with --witness-key witness.pem")
    address = url or witness_url(data.settings)
    if address is None:
        raise UsageError("no witness to ask: give --url or set SEALROOM_WITNESS_URL")
    client = WitnessClient(address)
    try:
        first = _read_head(kept.read_bytes(), str(kept))
        second_bytes = newer.read_bytes() if newer else client.tree_head()
        second = _read_head(second_bytes, str(newer) if newer else f"{address}/sth")
        if first.tree_size > second.tree_size:
            first, second = second, first
        newest = _read_head(client.tree_head(), f"{address}/sth")
        outcome = _check(client, first, second, newest.tree_size, trust)
    except WitnessUnavailable as exc:
        raise UsageError(f"the witness could not be asked: {exc}") from exc
    if as_json:
        emit_json(outcome)
    elif outcome["consistent"]:
        click.echo(
            f"witness log CONSISTENT: tree head {outcome['first']} is a prefix of "
            f"{outcome['second']} (key sha256:{outcome['log']})"
        )
    else:
        click.echo(f"witness log NOT CONSISTENT — {outcome['reason']}")
    ctx.exit(0 if outcome["consistent"] else 1)


def _read_head(data: bytes, where: str) -> TreeHead:
    try:
        return TreeHead.parse(data.rstrip(b"\r\n"), location=where)
    except VerificationError as exc:
        raise UsageError(f"{where} is not a signed tree head: {exc.reason}") from exc


def _check(
    client: WitnessClient, first: TreeHead, second: TreeHead, size: int, trust: TrustStore
) -> dict[str, Any]:
    outcome: dict[str, Any] = {
        "first": first.tree_size,
        "second": second.tree_size,
        "log": second.log,
    }
    try:
        for head in (first, second):
            trusted_key(head, trust.witness_keys, location=f"tree head {head.tree_size}")
        if first.log != second.log:
            raise merkle.ProofError("the two heads are signed by different witness keys")
        if second.tree_size > size:
            raise merkle.ProofError(
                f"the witness signed a head of {second.tree_size} entries, and its log now "
                f"holds {size}: it was rolled back"
            )
        if first.tree_size == 0:
            outcome["consistent"] = True  # the empty log is a prefix of every log
            return outcome
        proof = client.consistency(first.tree_size, second.tree_size)
        merkle.verify_consistency(
            first.tree_size,
            second.tree_size,
            bytes.fromhex(first.root_hash),
            bytes.fromhex(second.root_hash),
            proof,
        )
    except (merkle.ProofError, VerificationError) as exc:
        outcome.update(consistent=False, reason=str(exc))
        return outcome
    outcome["consistent"] = True
    return outcome


COMMANDS = [witness_group]
