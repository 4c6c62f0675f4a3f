"""A replicated SeaweedFS cluster on loopback: one ``weed master`` (replication ``001``: every
object on two volume servers), three ``weed volume`` servers and ``weed filer -s3`` with
Object Lock. Each process can be killed and restarted on its own data.

``SEALROOM_TEST_S3_CLUSTER_ENDPOINT`` (host:port), with ``SEALROOM_TEST_S3_CLUSTER_ACCESS_KEY``,
``..._SECRET_KEY`` and ``..._SECURE`` (0/1), points the same tests at a distributed MinIO
instead (the production choice); tests that kill a volume server need a cluster of their own
and are skipped then.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from minio import Minio

from tests.support.s3 import ACCESS_KEY, SECRET_KEY, S3Target, weed_binary
from tests.support.s3 import _free as port_is_free

VOLUMES = 3
GRPC_OFFSET = 10_000  # every weed server also listens on port + 10000 for gRPC


def free_port_pair() -> int:
    """A port P with P and P + 10000 free on 127.0.0.1."""
    for _ in range(500):
        port = random.randint(20_000, 50_000)
        if port_is_free(port) and port_is_free(port + GRPC_OFFSET):
            return port
    raise RuntimeError("no free pair of ports for SeaweedFS")


class WeedProcess:
    """One weed server: its command line, its log, and its process group."""

    def __init__(self, name: str, command: list[str], directory: Path) -> None:
        self.name = name
        self.command = command
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        with (self.directory / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,  # nothing is written here: every store has its own dir
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL to its group, as a crash or a pulled plug would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class SeaweedCluster:
    """master + 3 volume servers (replication 001) + filer with the S3 gateway."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        weed = weed_binary()
        master, filer, s3 = free_port_pair(), free_port_pair(), free_port_pair()
        self.s3_port = s3
        self.filer_port = filer
        loopback = ["-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
        for sub in ("master", "filer", *(f"volume{i}" for i in range(VOLUMES))):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        self.master = WeedProcess(
            "master",
            [weed, "master", *loopback, f"-port={master}", f"-mdir={directory / 'master'}",
             "-defaultReplication=001", "-volumeSizeLimitMB=64", "-telemetry=false"],
            directory,
        )  # fmt: skip
        self.volumes = [
            WeedProcess(f"volume{i}", self._volume(weed, i, master), directory)
            for i in range(VOLUMES)
        ]
        self.filer = WeedProcess(
            "filer",
            [weed, "filer", *loopback, f"-port={filer}", f"-master=127.0.0.1:{master}",
             f"-defaultStoreDir={directory / 'filer'}", "-s3", f"-s3.port={s3}"],
            directory,
        )  # fmt: skip

    def _volume(self, weed: str, index: int, master: int) -> list[str]:
        return [
            weed, "volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={free_port_pair()}",
            f"-dir={self.directory / f'volume{index}'}", f"-mserver=127.0.0.1:{master}",
            "-max=30",
        ]  # fmt: skip

    @property
    def processes(self) -> list[WeedProcess]:
        return [self.master, *self.volumes, self.filer]

    def start(self, *, timeout: float = 60) -> None:
        for process in self.processes:
            process.start()
        self.wait_ready(timeout=timeout)

    def wait_ready(self, *, timeout: float) -> None:
        """Until the S3 gateway answers and a bucket can take an object on two volumes."""
        client = Minio(
            f"127.0.0.1:{self.s3_port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False
        )
        deadline = time.monotonic() + timeout
        while True:
            dead = [p.name for p in self.processes if not p.alive]
            if dead:
                raise RuntimeError(f"weed {', '.join(dead)} exited; see {self.directory}/*.log")
            try:
                client.list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def target(self) -> S3Target:
        return S3Target(f"127.0.0.1:{self.s3_port}", ACCESS_KEY, SECRET_KEY, False, None)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.kill()  # the data is thrown away with the test's folder


def external_cluster() -> S3Target | None:
    """The distributed MinIO named by SEALROOM_TEST_S3_CLUSTER_ENDPOINT, if any."""
    endpoint = os.environ.get("SEALROOM_TEST_S3_CLUSTER_ENDPOINT")
    if not endpoint:
        return None
    prefix = "SEALROOM_TEST_S3_CLUSTER_"
    return S3Target(
        endpoint=endpoint,
        access_key=os.environ.get(prefix + "ACCESS_KEY", "minioadmin"),
        secret_key=os.environ.get(prefix + "SECRET_KEY", "minioadmin"),
        secure=os.environ.get(prefix + "SECURE", "0") == "1",
        server=None,
    )


def seaweed_cluster(directory: Path) -> Iterator[SeaweedCluster]:
    """A started cluster in ``directory``, killed afterwards whatever happened."""
    cluster = SeaweedCluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
