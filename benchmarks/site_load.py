"""A site under load: N rooms recording and uploading at once, as real processes.

    python -m benchmarks.site_load [--rooms 8] [--seconds 120] [--size 640x360] [--fps 15]

Starts the topology of the site tests (PostgreSQL, a replicated SeaweedFS cluster, a console
replica behind nginx, and N room appliances: recorder service over TLS + spool + uploader),
starts a session in every room through the recorder's control API, records for the given
time, stops them all, and waits for the uploaders to drain. Reports:

- seal latency: for each segment, its link's time minus the moment its media ended on the
  session's clock (the start link's time + the segment's end): how late a segment is sealed;
- upload lag: the bucket's Last-Modified of each segment (1 s resolution) minus its seal;
- the CPU each room's processes used while recording (cores per room: recorder, uploader),
  and the bytes each room recorded per second (disk and uplink per room);
- the CPU the machine had: `os.cpu_count()` and the load average at the end.

The catalog's ingest rate belongs to the catalog fed by events (another part of issue 12):
measured there. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from evidence_store import Link, layout, parse_utc
from evidence_store.installation import InstallationCA
from recorder.control import RecorderClient, RecorderIdentity
from tests.support.site.topology import Site, start_site


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def client(site: Site, room: str) -> RecorderClient:
    url = site.rooms[room].recorder.url
    identity = RecorderIdentity(room=room, ca_file=site.ca.certificate_path)
    return RecorderClient(url, site.token(room), timeout=30, identity=identity)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def room_cpu(site: Site) -> dict[str, float]:
    total: dict[str, float] = {"recorder": 0.0, "uploader": 0.0}
    for appliance in site.rooms.values():
        total["recorder"] += cpu_seconds(appliance.recorder.process.pid)
        if appliance.uploader is not None:
            total["uploader"] += cpu_seconds(appliance.uploader.pid)
    return total


def links_of(data_dir: Path, session: str) -> list[Link]:
    folder = data_dir / "evidence" / layout.session_prefix(session)
    chain = sorted((folder / "chain").glob("*.json"))
    return [Link.parse(p.read_bytes(), location=p.name) for p in chain]


@dataclass
class Round:
    """What one round of recording measured."""

    rooms: int
    segments: int
    latencies: list[float]
    lags: list[float]
    missing: list[str]
    drained: float
    cores: dict[str, float]  # per room
    byte_rate: float  # recorded bytes per media second, per room


def record_round(site: Site, rooms: tuple[str, ...], seconds: float, drain: float) -> Round:
    """Record in ``rooms`` at once for ``seconds``, stop, wait for the uploads, and measure."""
    with ThreadPoolExecutor(len(rooms)) as pool:
        sessions = dict(
            zip(
                rooms,
                pool.map(
                    lambda r: client(site, r).start(case_number=f"VKS-LOAD/{r}").session_id,
                    rooms,
                ),
                strict=True,
            )
        )
        cpu_before, clock = room_cpu(site), time.monotonic()
        time.sleep(seconds)
        cpu_after, elapsed = room_cpu(site), time.monotonic() - clock
        list(pool.map(lambda r: client(site, r).stop("hết giờ đo"), rooms))
    recorded_at = time.monotonic()
    bucket = site.store.client()
    uploaded: dict[str, datetime] = {}
    seal: dict[str, float] = {}  # object key -> seal time (epoch)
    latencies: list[float] = []
    recorded_bytes = 0
    media_seconds = 0.0
    for room, session in sessions.items():
        assert session is not None
        links = links_of(site.rooms[room].data_dir, session)
        origin = parse_utc(links[0].time).timestamp()
        for link in links:
            if link.segment is None:
                continue
            end = (link.segment.start_us + link.segment.duration_us) / 1e6
            sealed = parse_utc(link.time).timestamp()
            latencies.append(sealed - (origin + end))
            recorded_bytes += link.segment.size
            media_seconds += link.segment.duration_us / 1e6
            key = layout.session_prefix(session) + layout.segment_path(link.segment.index)
            seal[key] = sealed
    deadline = time.monotonic() + drain
    while len(uploaded) < len(seal) and time.monotonic() < deadline:
        for key in seal.keys() - uploaded.keys():
            try:
                uploaded[key] = bucket.stat_object(site.bucket, key).last_modified
            except Exception:
                continue
        time.sleep(1)
    # Idle rooms keep a recorder and an uploader too; their cost is the same in both rounds.
    cores = {
        kind: (cpu_after[kind] - cpu_before[kind]) / elapsed / len(rooms)
        for kind in ("recorder", "uploader")
    }
    return Round(
        rooms=len(rooms),
        segments=len(seal),
        latencies=latencies,
        lags=[uploaded[k].timestamp() - seal[k] for k in uploaded],
        missing=sorted(seal.keys() - uploaded.keys()),
        drained=time.monotonic() - recorded_at,
        cores=cores,
        byte_rate=recorded_bytes / media_seconds,
    )


def report(label: str, result: Round) -> None:
    latencies, lags = result.latencies, result.lags
    print(f"{label}: {result.segments} segments sealed in {result.rooms} room(s)")
    print(
        f"  seal latency  p50 {statistics.median(latencies):6.2f} s  "
        f"p99 {percentile(latencies, 0.99):6.2f} s  max {max(latencies):6.2f} s"
    )
    if lags:
        print(
            f"  upload lag    p50 {statistics.median(lags):6.2f} s  "
            f"p99 {percentile(lags, 0.99):6.2f} s  max {max(lags):6.2f} s "
            "(Last-Modified has 1 s resolution)"
        )
    print(
        f"  uploaded {len(lags)}/{result.segments}; last one {result.drained:.0f} s after the stop"
    )
    for key in result.missing:
        print(f"  not in the bucket: {key}")
    for kind, used in result.cores.items():
        print(f"  CPU per recording room, {kind}: {used:.2f} cores")
    rate = result.byte_rate
    print(
        f"  recorded per room: {rate / 1e3:.0f} kB/s = {rate * 8 / 1e6:.2f} Mbit/s = "
        f"{rate * 3600 / 1e9:.2f} GB per hour"
    )


def ratio(loaded: float, baseline: float) -> str:
    return f"{loaded / baseline:.2f}" if baseline > 0 else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--drain-seconds", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the site's folder")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    root = Path(tempfile.mkdtemp(prefix="sealroom-bench-site-"))
    authority = InstallationCA(root / "ca")
    authority.create("bench")
    rooms = tuple(f"room{n}" for n in range(1, args.rooms + 1))
    picture = f"[recorder]\nwidth = {width}\nheight = {height}\nfps = {args.fps}\n"
    started = time.monotonic()
    site = start_site(root, authority, consoles=1, rooms=rooms, picture=picture)
    print(f"site up in {time.monotonic() - started:.0f} s: {args.rooms} rooms, {args.size}")
    try:
        # The baseline: one room recording alone on the same site, in the same run.
        alone = record_round(site, rooms[:1], args.seconds, args.drain_seconds)
        report("baseline, one room recording", alone)
        together = record_round(site, rooms, args.seconds, args.drain_seconds)
        report(f"{args.rooms} rooms recording at once", together)
        p50 = ratio(statistics.median(together.latencies), statistics.median(alone.latencies))
        p99 = ratio(percentile(together.latencies, 0.99), percentile(alone.latencies, 0.99))
        cores = ratio(together.cores["recorder"], alone.cores["recorder"])
        print(
            f"{args.rooms} rooms / 1 room: seal latency p50 {p50}, p99 {p99}; "
            f"recorder cores per room {cores}"
        )
        print(f"cores: {os.cpu_count()}; load average (1, 5, 15 min): {os.getloadavg()}")
    finally:
        site.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
