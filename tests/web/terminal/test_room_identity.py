"""Rooms across machines: each room has its own recorder token, the console reaches a
recorder over TLS and checks that its certificate (from the installation's CA) names the
room before it sends anything, and changing a room's address is a custody event that
harvests nothing: a server of the administrator's own receives no request, and the terminal
never shows it as recording."""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_store import UsageError
from evidence_store.installation import InstallationCA, Issued
from tests.support.console import Console, build_console, csrf_token, login
from tests.support.site.ca import RecorderService, room_certificate, start_recorder
from web import ConsoleSettings
from web.audit import custody_log
from web.recorders import check_recorder_url, room_token

pytestmark = pytest.mark.slow


class ImpostorRecorder(threading.Thread):
    """A TLS server of an administrator's own that answers like a recorder that is
    recording, and keeps every byte it is sent."""

    def __init__(self, certificate: Issued) -> None:
        super().__init__(daemon=True)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate.certificate, certificate.key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        answer = json.dumps({"state": "recording", "session_id": "s-fake"}).encode()
        while not self.stopped.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            try:
                with self.context.wrap_socket(raw, server_side=True) as tls:
                    tls.settimeout(2)
                    data = tls.recv(65536)
                    self.received += data
                    if data:
                        tls.sendall(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                            + answer
                        )
            except (ssl.SSLError, OSError):
                pass

    def close(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        self.listener.close()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, installation_ca: InstallationCA
) -> Iterator[tuple[Console, RecorderService, bytes]]:
    root = tmp_path_factory.mktemp("rooms")
    key = secrets.token_urlsafe(48).encode()
    key_file = root / "room-key"
    key_file.write_bytes(key)
    recorder = start_recorder(
        root / "room1",
        "room1",
        room_token(key, "room1"),
        tls=room_certificate(installation_ca, "room1", root / "certs"),
    )
    try:
        console = build_console(
            root / "console",
            recorder_url=recorder.url,
            settings=ConsoleSettings(
                room_key_file=key_file, recorder_ca_file=installation_ca.certificate_path
            ),
        )
        console.app.config["WTF_CSRF_ENABLED"] = False
        yield console, recorder, key
    finally:
        recorder.stop()


def status(console: Console) -> tuple[int, dict[str, object]]:
    client = console.app.test_client()
    login(client, "investigator")
    response = client.get("/terminal/room1/status.json")
    return response.status_code, response.get_json()


def test_the_console_reaches_a_room_over_tls_with_that_rooms_own_token(
    site: tuple[Console, RecorderService, bytes], installation_ca: InstallationCA
) -> None:
    console, recorder, key = site
    assert recorder.url.startswith("https://")
    code, body = status(console)
    assert code == 200 and body["reachable"] is True and body["state"] == "idle"

    # Another room's token (what its appliance holds) does not open this room.
    context = ssl.create_default_context(cafile=str(installation_ca.certificate_path))
    context.check_hostname = False
    request = urllib.request.Request(
        f"{recorder.url}/status", headers={"Authorization": f"Bearer {room_token(key, 'room2')}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10, context=context)
    assert refused.value.code == 401


def test_a_room_pointed_at_an_impostor_gets_nothing_and_shows_nothing(
    site: tuple[Console, RecorderService, bytes],
    installation_ca: InstallationCA,
    tmp_path: Path,
) -> None:
    console, recorder, key = site
    # The strongest impostor: a genuine certificate of this installation, for another room.
    impostor = ImpostorRecorder(room_certificate(installation_ca, "room2", tmp_path))
    impostor.start()
    admin = console.app.test_client()
    login(admin, "admin")
    try:
        plain = admin.post(
            "/admin/rooms/room1/address", data={"recorder_url": f"http://127.0.0.1:{impostor.port}"}
        )
        assert plain.status_code == 302
        with console.app.app_context():
            assert not custody_log().entries(action="room_address_changed")
        moved = admin.post(
            "/admin/rooms/room1/address",
            data={"recorder_url": f"https://127.0.0.1:{impostor.port}"},
        )
        assert moved.status_code == 302
        with console.app.app_context():
            [changed] = custody_log().entries(action="room_address_changed")
        assert changed.actor == "admin"
        assert changed.detail == {
            "room": "room1",
            "from": recorder.url,
            "to": f"https://127.0.0.1:{impostor.port}",
            "filed_under": "hanoi",  # the administrator's unit
        }

        code, body = status(console)
        assert code == 503 and body["reachable"] is False and "state" not in body
        investigator = console.app.test_client()
        login(investigator, "investigator")
        page = "/terminal/room1/start"
        started = investigator.post(
            page,
            data={
                "case_number": "VKS-9/2026",
                "accused": "Nguyễn Văn A",
                "investigators": "Trần Thị B",
                "csrf_token": csrf_token(investigator, page),
            },
        )
        assert started.status_code == 503
        assert impostor.connections >= 2  # the console did knock, and went no further
        assert bytes(impostor.received) == b""
        assert room_token(key, "room1").encode() not in bytes(impostor.received)
    finally:
        admin.post("/admin/rooms/room1/address", data={"recorder_url": recorder.url})
        impostor.close()
    code, body = status(console)
    assert code == 200 and body["reachable"] is True


@pytest.mark.parametrize(
    ("url", "loopback_http", "accepted"),
    [
        ("https://phong-1.vks.lan:8750", False, True),
        ("http://phong-1.vks.lan:8750", False, False),  # a token never crosses a network in clear
        ("http://127.0.0.1:8750", False, False),  # the console's pages register https only
        ("http://127.0.0.1:8750", True, True),  # `sealroom rooms add` on the same machine
        ("http://[::1]:8750", True, True),
        ("http://localhost.evil.example:8750", True, False),  # not loopback, whatever its name
        ("http://127.0.0.1.evil.example:8750", True, False),
        ("https://user:pw@phong-1.vks.lan:8750", False, False),
        ("https://phong-1.vks.lan:8750/?next=x", False, False),
        ("ftp://phong-1.vks.lan", False, False),
    ],
)
def test_which_addresses_a_recorder_may_have(url: str, loopback_http: bool, accepted: bool) -> None:
    if accepted:
        assert check_recorder_url(url, loopback_http=loopback_http) == url
    else:
        with pytest.raises(UsageError):
            check_recorder_url(url, loopback_http=loopback_http)
