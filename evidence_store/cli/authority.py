"""``sealroom ca``: the installation's certificate authority, for TLS to the console's front
(nginx) and to each room's recorder control API. Each certificate issued is a custody event."""

from __future__ import annotations

from pathlib import Path

import click

from evidence_store.cli.options import data_dir_from, data_dir_option, emit_json, json_option
from evidence_store.cli.options import operator as who
from evidence_store.installation import DataDir, InstallationCA, Issued

ca_dir_option = click.option(
    "--ca-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The CA's folder (default: <data_dir>/ca).",
)


def _authority(data: DataDir, ca_dir: Path | None) -> InstallationCA:
    return InstallationCA(ca_dir or data.root / "ca")


def _record(data: DataDir, action: str, detail: dict[str, object]) -> None:
    store = data.store(create=True)
    data.custody(store, data.signer()).record(
        actor=who(), role="operator", action=action, detail=detail
    )


def _report(issued: Issued, as_json: bool) -> None:
    if as_json:
        emit_json({"certificate": str(issued.certificate), "key": str(issued.key)})
    else:
        click.echo(f"certificate: {issued.certificate}\nkey (0600):  {issued.key}")


@click.group("ca")
def ca_group() -> None:
    """The installation's certificate authority (TLS for the console and the rooms)."""


@ca_group.command("init")
@click.option("--name", default="sealroom", show_default=True, help="The installation's name.")
@ca_dir_option
@data_dir_option
@json_option
@click.pass_context
def init(
    ctx: click.Context, name: str, ca_dir: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """Create the CA (once: an existing one is never replaced)."""
    data = data_dir_from(ctx, data_dir)
    certificate = _authority(data, ca_dir).create(name)
    _record(data, "ca_created", {"certificate": str(certificate)})
    if as_json:
        emit_json({"certificate": str(certificate)})
    else:
        click.echo(f"CA certificate (give it to the consoles and browsers): {certificate}")


@ca_group.command("server")
@click.argument("hosts", nargs=-1, required=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write OUT.pem and OUT.key.",
)
@ca_dir_option
@data_dir_option
@json_option
@click.pass_context
def server(
    ctx: click.Context,
    hosts: tuple[str, ...],
    out: Path,
    ca_dir: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Issue a TLS server certificate for HOSTS (the console's nginx)."""
    data = data_dir_from(ctx, data_dir)
    issued = _authority(data, ca_dir).issue_server(list(hosts), out)
    _record(data, "certificate_issued", {"kind": "server", "hosts": list(hosts)})
    _report(issued, as_json)


@ca_group.command("room")
@click.argument("room")
@click.argument("hosts", nargs=-1, required=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write OUT.pem and OUT.key (copy them to the room appliance).",
)
@ca_dir_option
@data_dir_option
@json_option
@click.pass_context
def room(
    ctx: click.Context,
    room: str,
    hosts: tuple[str, ...],
    out: Path,
    ca_dir: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Issue ROOM's recorder certificate, reached at HOSTS; it names the room itself."""
    data = data_dir_from(ctx, data_dir)
    issued = _authority(data, ca_dir).issue_room(room, list(hosts), out)
    _record(data, "certificate_issued", {"kind": "room", "room": room, "hosts": list(hosts)})
    _report(issued, as_json)


COMMANDS = [ca_group]
