"""Diagrams as users upload and read them in the console."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from tests.support.console import Console, login
from web.audit import custody_log
from web.extensions import db
from web.models import Diagram

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def client_for(console: Console, username: str, password: str | None = None) -> FlaskClient:
    client = console.app.test_client()
    if password is None:
        login(client, username)
    else:
        login(client, username, password)
    return client


def token(client: FlaskClient) -> str:
    page = client.get("/diagrams/new").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def upload(
    client: FlaskClient,
    data: bytes,
    *,
    filename: str = "sketch.png",
    title: str = "Sơ đồ hiện trường",
    content_type: str = "application/octet-stream",
) -> TestResponse:
    return client.post(
        "/diagrams/upload",
        data={
            "csrf_token": token(client),
            "title": title,
            "file": (io.BytesIO(data), filename, content_type),
        },
        content_type="multipart/form-data",
    )


def uploaded_id(response: TestResponse) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.search(r"/diagrams/(\d+)$", response.location)
    assert match, response.location
    return int(match.group(1))


def png_bytes(
    size: tuple[int, int] = (64, 48),
    colour: str | int | tuple[int, int, int] = "red",
    mode: str = "RGB",
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG")
    return out.getvalue()


def diagram_row(console: Console, diagram_id: int) -> Diagram:
    with console.app.app_context():
        row = db.session.get(Diagram, diagram_id)
        assert row is not None
        db.session.expunge(row)
        return row


def exhibits(console: Console) -> Path:
    return console.data.root / "exhibits"


def stored_originals(console: Console) -> set[str]:
    folder = exhibits(console)
    if not folder.exists():
        return set()
    return {p.name for p in folder.iterdir() if re.fullmatch(r"[0-9a-f]{64}", p.name)}


def events(console: Console, action: str) -> list[Any]:
    with console.app.app_context():
        return list(custody_log().entries(action=action))


def diagram_payload_of(page: TestResponse) -> dict[str, Any]:
    html = page.get_data(as_text=True)
    match = re.search(r'<script type="application/json" id="diagram-data">(.*?)</script>', html)
    assert match, html[:1000]
    payload: dict[str, Any] = json.loads(match.group(1))
    return payload


def forge(path: Path, data: bytes) -> None:
    """What someone with access to the disk could do: replace a stored page."""
    path.chmod(0o644)
    path.write_bytes(data)
