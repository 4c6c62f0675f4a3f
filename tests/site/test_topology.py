"""A province on one machine, as real processes: two rooms over TLS with their spools and
uploaders, a replicated SeaweedFS cluster, one PostgreSQL for every central process, two
console replicas behind nginx (TLS from the installation's CA). What users rely on, then
what each fault must not take from them.

One topology serves the whole module (it takes a minute to start); the faults come last,
and each puts back what it broke.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy

from tests.support.cli import run_sealroom
from tests.support.site.client import EventStream, WebUser
from tests.support.site.topology import Site, wait_until
from web.courtroom.listener import CHANNEL

pytestmark = pytest.mark.slow


def person(site: Site, username: str, base: str | None = None) -> WebUser:
    user = WebUser(site.ca.certificate_path)
    user.log_in(base or site.url, username)
    return user


def session_ids_in_bucket(site: Site) -> set[str]:
    client = site.store.client()
    found = client.list_objects(site.bucket, prefix="sessions/")
    return {o.object_name.split("/")[1] for o in found}


def verify_from_bucket(site: Site, room: str, session_id: str) -> bool:
    """`sealroom verify --store s3`: every object of the session, read back from the bucket
    and checked, against the room's trust root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    trust = site.rooms[room].data_dir / "trust"
    result = subprocess.run(
        [sys.executable, "-m", "sealroom", "verify", "--store", "s3", "--trust", str(trust),
         session_id],
        env={**env, **site.store.env(site.bucket)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        print(result.stdout, result.stderr)
    return result.returncode == 0


class Terminal:
    """An investigator at a room's terminal, through nginx."""

    def __init__(self, site: Site, room: str) -> None:
        self.site = site
        self.room = room
        self.user = person(site, "investigator")

    def start(self, case: str) -> str:
        page = f"{self.site.url}/terminal/{self.room}/start"
        status, landed, body = self.user.request(
            page,
            {
                "case_number": case,
                "accused": "Nguyễn Văn Án",
                "investigators": "Trần Thị Bình",
                "csrf_token": self.user.csrf(page),
            },
        )
        assert status == 200 and landed.endswith(f"/terminal/{self.room}"), (status, body[-500:])
        return str(self.status()["session_id"])

    def status(self) -> dict[str, Any]:
        code, _, body = self.user.request(f"{self.site.url}/terminal/{self.room}/status.json")
        assert code == 200, body
        return dict(json.loads(body))

    def segments(self) -> int:
        return int(self.status().get("segments_sealed") or 0)

    def stop(self) -> None:
        """Stop: the console sends the investigator on to the seal sheet (which the console
        can show once the uploader has brought the sealed session to the bucket)."""
        live = f"{self.site.url}/terminal/{self.room}"
        status, location, _ = self.user.request(
            f"{live}/stop",
            {"reason": "Kết thúc", "confirmed": "1", "csrf_token": self.user.csrf(live)},
            follow=False,
        )
        assert status == 302 and "/seal/" in location, (status, location)


def new_hearing(user: WebUser, base: str, case: str) -> int:
    page = f"{base}/hearings/"
    status, landed, _ = user.request(
        page,
        {
            "case_number": case,
            "court": "TAND tỉnh Thử Nghiệm",
            "hearing_date": "2026-12-07",
            "csrf_token": user.csrf(page),
        },
    )
    assert status == 200, landed
    return int(landed.rstrip("/").split("/")[-1])


# -- replicas -----------------------------------------------------------------------------


def test_a_login_on_one_replica_is_honoured_by_the_other(site_topology: Site) -> None:
    first, second = site_topology.consoles
    prosecutor = person(site_topology, "prosecutor", base=first.url)
    status, landed, _ = prosecutor.request(f"{second.url}/sessions/")
    assert status == 200 and "/login" not in landed
    # Through nginx, over TLS: request after request, whichever replica answers.
    through = person(site_topology, "prosecutor")
    for _ in range(6):
        status, landed, _ = through.request(f"{site_topology.url}/sessions/")
        assert status == 200 and "/login" not in landed


def test_the_presenter_on_one_replica_drives_the_audience_on_the_other(
    site_topology: Site,
) -> None:
    first, second = site_topology.consoles
    clerk = person(site_topology, "court-clerk", base=first.url)
    hearing = new_hearing(clerk, first.url, "VKS-REPLICA/2026")
    audience = EventStream(clerk, f"{second.url}/hearings/{hearing}/events")
    # The court's screen as it really connects: through nginx, over TLS, unbuffered.
    court_screen = person(site_topology, "court-clerk")
    through_nginx = EventStream(court_screen, f"{site_topology.url}/hearings/{hearing}/events")
    try:
        for screen in (audience, through_nginx):
            screen.next_matching(lambda e: e["state"]["blank"] is False)
        status, _, body = clerk.request(
            f"{first.url}/hearings/{hearing}/present/blank",
            json_body={},
            headers={"X-CSRFToken": clerk.csrf(f"{first.url}/hearings/")},
        )
        assert status == 200, body
        for screen in (audience, through_nginx):
            shown = screen.next_matching(lambda e: e["state"]["blank"] is True)
            assert shown["version"] >= 1
    finally:
        audience.close()
        through_nginx.close()
    # The replica serving the screen listens for changes (it did not only poll for it).
    engine = sqlalchemy.create_engine(site_topology.postgres.url)
    with engine.connect() as connection:
        listening = connection.execute(
            sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE query = :q"),
            {"q": f"LISTEN {CHANNEL}"},
        ).scalar_one()
    engine.dispose()
    assert listening >= 1


def slots_held(site: Site) -> int:
    engine = sqlalchemy.create_engine(site.postgres.url)
    with engine.connect() as connection:
        held = connection.execute(sqlalchemy.text("SELECT count(*) FROM stream_slots"))
        count = int(held.scalar_one())
    engine.dispose()
    return count


def test_stream_slots_are_counted_per_unit_across_replicas(site_topology: Site) -> None:
    # Screens of earlier tests are given back once their server notices they went away.
    wait_until(lambda: slots_held(site_topology) == 0, timeout=60, what="no screen open")
    first, second = site_topology.consoles
    clerk = person(site_topology, "court-clerk", base=first.url)
    prosecutor = person(site_topology, "prosecutor", base=second.url)
    hearing = new_hearing(clerk, first.url, "VKS-SLOTS/2026")
    path = f"/hearings/{hearing}/events"
    # Two screens each, on two processes: the unit's four, neither user's four.
    screens = [EventStream(clerk, first.url + path) for _ in range(2)]
    screens += [EventStream(prosecutor, second.url + path) for _ in range(2)]
    try:
        status, _, _ = clerk.request(second.url + path, timeout=5)
        assert status == 503
        screens.pop(0).close()  # the server frees the slot when it notices (keep-alive)

        def admitted() -> bool:
            try:
                screens.append(EventStream(clerk, second.url + path))
            except OSError:  # 503 raises HTTPError, an OSError
                return False
            return True

        wait_until(admitted, timeout=60, what="a freed slot is taken again")
    finally:
        for screen in screens:
            screen.close()


# -- faults -------------------------------------------------------------------------------


def test_a_volume_server_killed_mid_upload_loses_nothing(site_topology: Site) -> None:
    if site_topology.cluster is None:
        pytest.skip("killing a volume server needs a SeaweedFS cluster of the test's own")
    terminal = Terminal(site_topology, "room1")
    session = terminal.start("VKS-VOLUME/2026")
    wait_until(lambda: session in session_ids_in_bucket(site_topology), timeout=60, what="upload")
    victim = site_topology.cluster.volumes[0]
    victim.kill()
    try:
        before = terminal.segments()
        wait_until(lambda: terminal.segments() >= before + 3, timeout=60, what="more segments")
        terminal.stop()
        wait_until(
            lambda: verify_from_bucket(site_topology, "room1", session),
            timeout=180,
            what="the whole session, intact, in the bucket",
        )
    finally:
        victim.start()


def test_a_console_replica_killed_users_carry_on_through_nginx(site_topology: Site) -> None:
    prosecutor = person(site_topology, "prosecutor")
    victim = site_topology.consoles[0]
    victim.kill()
    try:
        for _ in range(8):
            status, landed, _ = prosecutor.request(f"{site_topology.url}/sessions/")
            assert status == 200 and "/login" not in landed
    finally:
        victim.start()


def test_postgresql_restarted_consoles_recover_and_rooms_keep_recording(
    site_topology: Site,
) -> None:
    terminal = Terminal(site_topology, "room2")
    session = terminal.start("VKS-PGRESTART/2026")
    before = terminal.segments()
    site_topology.postgres.restart()
    prosecutor = WebUser(site_topology.ca.certificate_path)

    def console_back() -> bool:
        try:
            prosecutor.log_in(site_topology.url, "prosecutor")
        except AssertionError:
            return False
        return True

    wait_until(console_back, timeout=60, what="the consoles serve again by themselves")
    for _ in range(4):
        status, landed, _ = prosecutor.request(f"{site_topology.url}/sessions/")
        assert status == 200 and "/login" not in landed
    wait_until(lambda: terminal.segments() >= before + 3, timeout=60, what="still recording")
    terminal.stop()  # a custody event, in the restarted database
    appliance = site_topology.rooms["room2"]
    checked = run_sealroom("verify", session, data_dir=appliance.data_dir)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_room_cut_off_for_a_session_keeps_it_then_drains_and_registers(
    site_topology: Site,
) -> None:
    appliance = site_topology.rooms["room1"]
    terminal = Terminal(site_topology, "room1")
    appliance.link.cut()
    try:
        session = terminal.start("VKS-CUTOFF/2026")
        wait_until(lambda: terminal.segments() >= 4, timeout=60, what="segments")
        terminal.stop()
        assert session not in session_ids_in_bucket(site_topology)
        held = run_sealroom("verify", session, data_dir=appliance.data_dir)
        assert held.returncode == 0, held.stdout + held.stderr  # the spool holds all of it
    finally:
        appliance.link.restore()
    wait_until(
        lambda: verify_from_bucket(site_topology, "room1", session),
        timeout=180,
        what="drained, intact",
    )
    prosecutor = person(site_topology, "prosecutor")

    def registered() -> bool:
        _, _, page = prosecutor.request(f"{site_topology.url}/sessions/?case=CUTOFF")
        return "VKS-CUTOFF/2026" in page

    wait_until(registered, timeout=60, what="the session listed in the console")
