"""Hostile SVG files: each is refused, or neutralised by being drawn to pixels.

Neutralised means: the picture a browser is shown is a PNG (magic bytes and content type),
drawn from the harmless parts; nothing the SVG points at was fetched (a real HTTP server on
127.0.0.1 counts requests, and a real local file would show in the picture); and the original
is only ever handed out as an opaque download, never as an SVG a browser would run.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.console import Console, build_console
from tests.support.diagrams import (
    PNG_MAGIC,
    client_for,
    diagram_payload_of,
    diagram_row,
    events,
    png_bytes,
    stored_originals,
    upload,
    uploaded_id,
)
from web.diagrams.config import LIMITS_KEY
from web.diagrams.limits import DiagramLimits
from web.extensions import db
from web.models import Diagram

RED = (255, 0, 0)
GREEN = (0, 255, 0)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return build_console(tmp_path_factory.mktemp("svg"))


class Bait:
    """An HTTP server that hands out green pictures and counts who asked."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        bait = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                bait.requests.append(self.path)
                body = png_bytes((50, 50), "#00ff00")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture(scope="module")
def bait() -> Iterator[Bait]:
    server = Bait()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(scope="module")
def green_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("local") / "green.png"
    path.write_bytes(png_bytes((50, 50), "#00ff00"))
    return path


def hostile_svg(bait: str, local: Path) -> bytes:
    """Red everywhere, plus every way an SVG can run code or reach out; whatever is fetched
    would paint green over the red."""
    full = 'x="0" y="0" width="400" height="200"'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="400" height="200" onload="fetch('{bait}/onload')">
  <style>@import "{bait}/style.css"; @import url("{bait}/other.css"); rect {{ fill: red; }}</style>
  <script type="text/javascript">fetch("{bait}/script"); document.cookie</script>
  <rect {full} fill="#ff0000" onclick="alert(1)" onmouseover="alert(2)"/>
  <image {full} xlink:href="{bait}/image.png"/>
  <image {full} href="file://{local}"/>
  <image {full} href="file:///etc/passwd"/>
  <use xlink:href="{bait}/external.svg#thing"/>
  <rect {full} fill="url({bait}/paint.svg#pattern)"/>
  <filter id="f"><feImage xlink:href="{bait}/feimage.png"/></filter>
  <rect {full} filter="url(#f)" fill="none"/>
  <foreignObject {full}>
    <body xmlns="http://www.w3.org/1999/xhtml"><img src="{bait}/fo.png"/>
      <iframe src="{bait}/frame"></iframe><script>fetch("{bait}/fo-script")</script></body>
  </foreignObject>
  <a xlink:href="javascript:alert(3)"><text x="10" y="20">bấm vào đây</text></a>
</svg>""".encode()


def pixels(png: bytes) -> set[tuple[int, ...]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    return {
        image.getpixel((x * width // 10 + 5, y * height // 10 + 5))  # type: ignore[misc]
        for x in range(10)
        for y in range(10)
    }


def test_a_hostile_svg_is_drawn_to_pixels_and_reaches_nothing(
    console: Console, bait: Bait, green_file: Path
) -> None:
    client = client_for(console, "prosecutor")
    data = hostile_svg(bait.url, green_file)
    diagram_id = uploaded_id(
        upload(client, data, filename="so-do.svg", content_type="image/svg+xml")
    )
    row = diagram_row(console, diagram_id)
    assert row.media_type == "image/svg+xml" and row.sha256 == hashlib.sha256(data).hexdigest()
    assert (row.width, row.height) == (400, 200)

    page = client.get(f"/diagrams/{diagram_id}")
    html = page.get_data(as_text=True)
    assert "foreignObject" not in html and "alert(" not in html and bait.url not in html
    [url] = diagram_payload_of(page)["pages"]
    shown = client.get(url)
    assert shown.status_code == 200
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.data.startswith(PNG_MAGIC)
    assert b"<script" not in shown.data and b"<svg" not in shown.data
    colours = pixels(shown.data)
    assert GREEN not in colours  # neither the HTTP nor the local file picture was drawn
    assert RED in colours  # the harmless part was

    download = client.get(f"/diagrams/{diagram_id}/original")
    assert download.data == data
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["Content-Security-Policy"]

    assert bait.requests == []
    [event] = [e for e in events(console, "diagram_upload") if e.detail["diagram"] == diagram_id]
    # Those the renderer asked for were refused and logged; the rest it never asked for.
    assert set(event.detail["refused"]) >= {
        f"{bait.url}/image.png",
        f"{bait.url}/style.css",
        f"{bait.url}/external.svg",
        f"file://{green_file}",
        "file:///etc/passwd",
    }


def test_no_route_serves_a_diagram_as_svg(console: Console, bait: Bait, green_file: Path) -> None:
    client = client_for(console, "court-clerk")
    diagram_id = uploaded_id(upload(client, hostile_svg(bait.url, green_file), filename="x.svg"))
    for rule in console.app.url_map.iter_rules():
        if rule.endpoint.startswith("diagrams.") and "GET" in (rule.methods or ()):
            values = {"diagram_id": diagram_id, "index": 0, "layer_id": 1}
            url = rule.build({k: v for k, v in values.items() if k in rule.arguments})
            assert url is not None
            response = client.get(url[1])
            assert "svg" not in response.headers.get("Content-Type", ""), url
    assert bait.requests == []


def test_a_polyglot_is_told_by_its_bytes(console: Console, bait: Bait, green_file: Path) -> None:
    client = client_for(console, "prosecutor")
    # SVG with script, named and labelled as a PNG: treated as the SVG it is, and drawn.
    disguised = hostile_svg(bait.url, green_file)
    diagram_id = uploaded_id(
        upload(client, disguised, filename="anh.png", content_type="image/png")
    )
    assert diagram_row(console, diagram_id).media_type == "image/svg+xml"
    # A real PNG with an HTML page appended: the display copy is decoded and re-encoded, so
    # the tail never reaches a browser; the original only leaves as an opaque download.
    tail = b"<html><script>alert(document.cookie)</script></html>"
    diagram_id = uploaded_id(upload(client, png_bytes((40, 20), "red") + tail, filename="p.png"))
    assert diagram_row(console, diagram_id).media_type == "image/png"
    shown = client.get(f"/diagrams/{diagram_id}/pages/0.png")
    assert shown.data.startswith(PNG_MAGIC) and b"<script" not in shown.data
    download = client.get(f"/diagrams/{diagram_id}/original")
    assert download.data.endswith(tail)
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert bait.requests == []


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE svg [{entities}]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&lol9;</text></svg>'
    ).encode()


def use_bomb() -> bytes:
    levels = ['<g id="l0"><rect width="1" height="1"/></g>']
    for i in range(1, 7):
        levels.append(f'<g id="l{i}">' + f'<use href="#l{i - 1}"/>' * 10 + "</g>")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><defs>'
        + "".join(levels)
        + '</defs><use href="#l6"/></svg>'
    ).encode()


def refused_svgs(bait: str) -> dict[str, tuple[bytes, str]]:
    svg = 'xmlns="http://www.w3.org/2000/svg"'
    return {
        "entity expansion": (billion_laughs(), "svg_dtd"),
        "external entity": (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + f"<svg {svg}><text>&x;</text></svg>".encode(),
            "svg_dtd",
        ),
        "external DTD": (
            f'<!DOCTYPE svg SYSTEM "{bait}/dtd"><svg {svg} width="5" height="5"/>'.encode(),
            "svg_dtd",
        ),
        "huge width": (f'<svg {svg} width="100000000" height="10"/>'.encode(), "svg_size_limit"),
        "huge viewBox": (f'<svg {svg} viewBox="0 0 1e9 1e9"/>'.encode(), "svg_size_limit"),
        "negative size": (f'<svg {svg} width="-5" height="10"/>'.encode(), "svg_size"),
        "too many elements": (
            f'<svg {svg} width="10" height="10">'.encode() + b"<g/>" * 20_001 + b"</svg>",
            "svg_elements",
        ),
        "use fan-out": (use_bomb(), "svg_drawn"),
        "use cycle": (
            f'<svg {svg} width="9" height="9"><g id="a"><use href="#b"/></g>'
            '<g id="b"><use href="#a"/></g></svg>'.encode(),
            "svg_complex",
        ),
        "not well-formed": (f"<svg {svg}><rect></svg>".encode(), "svg_invalid"),
        "html with an svg inside": (
            f"<html><body><svg {svg}/><script>alert(1)</script></body></html>".encode(),
            "unsupported",
        ),
    }


CASES = list(refused_svgs("http://127.0.0.1:9"))


@pytest.mark.parametrize("case", CASES)
def test_a_dangerous_svg_is_refused(console: Console, bait: Bait, case: str) -> None:
    data, reason = refused_svgs(bait.url)[case]
    client = client_for(console, "prosecutor")
    before = stored_originals(console)
    response = upload(client, data, filename="x.svg", content_type="image/svg+xml")
    assert response.status_code == 400
    assert 'class="flash error"' in response.get_data(as_text=True)
    assert events(console, "diagram_upload_refused")[-1].detail["reason"] == reason
    assert stored_originals(console) == before
    assert bait.requests == []


def test_a_conversion_that_overruns_its_time_is_refused(console: Console) -> None:
    console.app.config[LIMITS_KEY] = DiagramLimits(render_seconds=0.001)
    try:
        client = client_for(console, "prosecutor")
        with console.app.app_context():
            count = db.session.query(Diagram).count()
        response = upload(client, png_bytes((20, 20), "orange"))
        assert response.status_code == 400
        assert events(console, "diagram_upload_refused")[-1].detail["reason"] == "too_complex"
        with console.app.app_context():
            assert db.session.query(Diagram).count() == count
    finally:
        console.app.config.pop(LIMITS_KEY)
