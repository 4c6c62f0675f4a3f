"""A province on one machine, as real processes on loopback: room appliances (recorder service
over TLS + spool + uploader, each reaching the object store through a link that can be cut),
a replicated SeaweedFS cluster, a private PostgreSQL shared by every central process, console
replicas, and nginx terminating TLS in front of them with a certificate from the
installation's CA.

Each piece can be killed and started again, for the fault tests. ``site_topology`` builds one
per test module; everything it started is stopped however the module ends.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy

from evidence_store.installation import InstallationCA
from tests.support.browser import free_port, wait_for
from tests.support.console import build_console
from tests.support.postgres import PostgresServer
from tests.support.s3 import S3Target, config_file
from tests.support.site.ca import (
    SMALL_PICTURE,
    RecorderService,
    room_certificate,
    start_recorder,
)
from tests.support.site.link import Link
from tests.support.site.nginx import Nginx
from tests.support.site.seaweed import SeaweedCluster, external_cluster
from web import ConsoleSettings
from web.extensions import db
from web.models import Room, Unit
from web.recorders import room_token
from web.room_credential import catalog_token

ROOMS = ("room1", "room2")


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}


def stop_process(process: subprocess.Popen[bytes] | None, *, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL to its process group if it does not end in time."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class ConsoleReplica:
    """``sealroom console`` on a port of its own, with a data directory of its own and the
    site's shared database, secrets and object store."""

    name: str
    port: int
    data_dir: Path
    config: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.data_dir.parent / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "sealroom", "--config", str(self.config), "console",
                "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )  # fmt: skip
        wait_for(f"{self.url}/login", timeout=60)

    def kill(self) -> None:
        """SIGKILL, as a crashed machine."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class Appliance:
    """A room appliance: its recorder service (TLS), and its uploader draining the spool
    into the object store through ``link`` (which the tests may cut)."""

    room: str
    folder: Path
    recorder: RecorderService
    link: Link
    env: dict[str, str]
    config: Path
    uploader: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.recorder.data_dir

    def start_uploader(self) -> None:
        log = (self.folder / "uploader.log").open("ab")
        self.uploader = subprocess.Popen(
            [sys.executable, "-m", "sealroom", "--config", str(self.config), "uploader",
             "--data-dir", str(self.data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        stop_process(self.uploader)
        self.recorder.stop()
        self.link.close()


@dataclass
class Site:
    root: Path
    postgres: PostgresServer
    cluster: SeaweedCluster | None  # None: an external MinIO cluster
    store: S3Target
    bucket: str
    ca: InstallationCA
    room_key: bytes
    nginx: Nginx
    consoles: list[ConsoleReplica] = field(default_factory=list)
    rooms: dict[str, Appliance] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The console, as users reach it: through nginx, over TLS."""
        return self.nginx.url

    def token(self, room: str) -> str:
        return room_token(self.room_key, room)

    def stop(self) -> None:
        for appliance in self.rooms.values():
            appliance.stop()
        self.nginx.stop()
        for console in self.consoles:
            console.stop()
        if self.cluster is not None:
            self.cluster.stop()
        self.postgres.remove()


def central_environment(site: Site, secret_key: str) -> dict[str, str]:
    """What every central process shares: the database, the secrets, the object store."""
    return {
        **clean_environment(),
        **site.store.env(site.bucket),
        "SEALROOM_DATABASE_URL": site.postgres.url,
        "SEALROOM_SECRET_KEY": secret_key,
        "SEALROOM_ROOM_KEY": site.room_key.decode(),
    }


def start_site(
    root: Path,
    ca: InstallationCA,
    *,
    consoles: int = 2,
    rooms: tuple[str, ...] = ROOMS,
    picture: str = SMALL_PICTURE,
) -> Site:
    """Start the whole topology in ``root``; on any failure, stop what was started."""
    postgres = PostgresServer()
    cluster: SeaweedCluster | None = None
    site: Site | None = None
    try:
        postgres.start()
        store = external_cluster()
        if store is None:
            cluster = SeaweedCluster(root / "seaweed")
            cluster.start()
            store = cluster.target()
        bucket = f"sealroom-site-{uuid.uuid4().hex[:10]}"
        store.client().make_bucket(bucket, object_lock=True)
        certs = root / "certs"
        nginx = Nginx(
            root / "nginx",
            free_port(),
            ca.issue_server(["localhost", "127.0.0.1"], certs / "nginx"),
        )
        site = Site(
            root, postgres, cluster, store, bucket, ca, secrets.token_urlsafe(48).encode(), nginx
        )
        _populate(site, rooms)
        env = central_environment(site, secrets.token_urlsafe(48))
        for n in range(consoles):
            _add_console(site, f"console-{'ab'[n] if n < 2 else n}", env)
        for room in rooms:
            _add_room(site, room, picture)
        nginx.start([c.upstream for c in site.consoles])
        return site
    except BaseException:
        if site is not None:
            site.stop()
        else:
            if cluster is not None:
                cluster.stop()
            postgres.remove()
        raise


def _populate(site: Site, rooms: tuple[str, ...]) -> None:
    """Units, users of every role and the rooms, in the shared database (the tests' usual
    console fixture, on PostgreSQL)."""
    key_file = site.root / "room-key"
    key_file.write_bytes(site.room_key)
    console = build_console(
        site.root / "setup",
        recorder_url="https://127.0.0.1:9",
        settings=ConsoleSettings(
            database_url=site.postgres.url,
            room_key_file=key_file,
            recorder_ca_file=site.ca.certificate_path,
        ),
    )
    with console.app.app_context():
        hanoi = db.session.query(Unit).filter_by(code="hanoi").one()
        for room in rooms[1:]:
            db.session.add(
                Room(
                    code=room,
                    name=f"Phòng {room.removeprefix('room')}",
                    unit=hanoi,
                    recorder_url="https://127.0.0.1:9",
                )
            )
        db.session.commit()


def _add_console(site: Site, name: str, env: dict[str, str]) -> None:
    folder = site.root / "consoles" / name
    folder.mkdir(parents=True)
    config = config_file(
        folder / "sealroom.toml",
        extra=(
            "[console]\nproxy_hops = 1\n"
            "stream_keepalive_seconds = 2\n"  # a closed screen's slot is freed sooner
            f'recorder_ca_file = "{site.ca.certificate_path}"\n'
        ),
    )
    replica = ConsoleReplica(name, free_port(), folder / "data", config, env)
    site.consoles.append(replica)
    replica.start()


def _add_room(site: Site, room: str, picture: str) -> None:
    folder = site.root / "rooms" / room
    link = Link(site.store.endpoint)
    env = {
        **clean_environment(),
        **site.store.env(site.bucket),
        "SEALROOM_S3_ENDPOINT": link.endpoint,
        # The room reports its sessions to the consoles' catalog, through nginx, as itself.
        "SEALROOM_CATALOG_URL": site.url,
        "SEALROOM_CATALOG_ROOM": room,
        "SEALROOM_CATALOG_TOKEN": catalog_token(site.room_key, room),
    }
    folder.mkdir(parents=True)
    extra = config_file(folder / "uploader.toml").read_text()  # fast backoff, 1-day retention
    extra += f'\n[evidence.catalog]\nca_file = "{site.ca.certificate_path}"\n'
    recorder = start_recorder(
        folder,
        room,
        site.token(room),
        tls=room_certificate(site.ca, room, site.root / "certs"),
        extra_config=extra,
        env=env,
        picture=picture,
    )
    appliance = Appliance(room, folder, recorder, link, env, folder / "sealroom.toml")
    site.rooms[room] = appliance
    appliance.start_uploader()
    _register_address(site, room, recorder.url)


def _register_address(site: Site, room: str, url: str) -> None:
    """Where the room's recorder listens (a free port, known once it started)."""
    engine = sqlalchemy.create_engine(site.postgres.url)
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text("UPDATE rooms SET recorder_url = :url WHERE code = :code"),
            {"url": url, "code": room},
        )
    engine.dispose()


@pytest.fixture(scope="module")
def site_topology(
    tmp_path_factory: pytest.TempPathFactory, installation_ca: InstallationCA
) -> Iterator[Site]:
    """The whole topology, for one test module."""
    root = tmp_path_factory.mktemp("site")
    site = start_site(root, installation_ca)
    try:
        yield site
    finally:
        logs = [*root.glob("*/*.log"), *root.glob("*/*/*.log"), *root.glob("*/*/*/*.log")]
        for log in sorted(p for p in logs if "filer" not in p.parts):  # shown on failure
            print(f"--- {log.relative_to(root)}\n{log.read_text(errors='replace')[-2000:]}")
        site.stop()


def wait_until(condition: object, *, timeout: float, what: str) -> None:
    """Poll ``condition()`` until it is true."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.5)
