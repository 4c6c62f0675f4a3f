"""An ONVIF camera that answers with recorded responses (onvif_device/ beside this file):
its device and media services over HTTP, and a WS-Discovery probe match over UDP, both on
127.0.0.1. The requests are real (zeep's SOAP, wsdiscovery's probe); only the device is not."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RESPONSES = Path(__file__).resolve().parent / "onvif_device"
CHANNELS = {"Profile_1": "101", "Profile_2": "102"}


@dataclass(frozen=True)
class FakeCamera:
    http_port: int
    discovery_port: int
    requests: list[str]  # the SOAP operations asked for, in order

    @property
    def xaddr(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/onvif/device_service"


def _operation(body: str) -> str:
    """The first element of the SOAP body: the operation asked for."""
    inside = body.split("Body", 1)[1] if "Body" in body else body
    match = re.search(r"<(?:[\w-]+:)?(\w+)[\s/>]", inside.split(">", 1)[1])
    return match.group(1) if match else ""


@contextmanager
def fake_onvif_camera(*, rtsp: str = "127.0.0.1:554") -> Iterator[FakeCamera]:
    """A camera on 127.0.0.1 that answers GetServices, GetProfiles, GetStreamUri and a
    WS-Discovery probe as the recorded responses say."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            operation = _operation(body)
            requests.append(operation)
            path = RESPONSES / f"{operation}.xml"
            if not path.exists():
                self.send_response(400)
                self.end_headers()
                return
            token = re.search(r"ProfileToken>([^<]+)<", body)
            reply = path.read_text().format(
                host=f"127.0.0.1:{self.server.server_address[1]}",
                rtsp=rtsp,
                channel=CHANNELS.get(token.group(1) if token else "", "101"),
            )
            data = reply.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    stopping = threading.Event()

    def answer_probes() -> None:
        while not stopping.is_set():
            try:
                probe, sender = udp.recvfrom(65536)
            except TimeoutError:
                continue
            found = re.search(rb"MessageID>([^<]+)<", probe)
            relates = found.group(1).decode() if found else ""
            requests.append("Probe")
            reply = (
                (RESPONSES / "ProbeMatches.xml")
                .read_text()
                .format(relates_to=relates, host=f"127.0.0.1:{http.server_address[1]}")
            )
            udp.sendto(reply.encode(), sender)

    threads = [
        threading.Thread(target=http.serve_forever, daemon=True),
        threading.Thread(target=answer_probes, daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield FakeCamera(http.server_address[1], udp.getsockname()[1], requests)
    finally:
        stopping.set()
        http.shutdown()
        http.server_close()
        udp.close()
