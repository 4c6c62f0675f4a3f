"""Diagrams through the console: uploads of PNG, JPEG, PDF and SVG are stored write-once under
their SHA-256 and shown as PNGs; layers are checked shape by shape and never touch the
original; units are kept apart; every touch is a custody event."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from evidence_store.signing import DeviceSigner
from tests.support.console import Console, build_console
from tests.support.diagrams import (
    PNG_MAGIC,
    client_for,
    diagram_payload_of,
    diagram_row,
    events,
    exhibits,
    forge,
    png_bytes,
    stored_originals,
    token,
    upload,
    uploaded_id,
)
from web.auth.accounts import create_user
from web.diagrams.config import RETRY_KEY
from web.diagrams.store import ExhibitStore, PageMismatch, RecordRefused
from web.extensions import db
from web.models import Diagram, DiagramLayer

PASSWORD_DANANG = "gió lộng sông Hàn 2026"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    built = build_console(tmp_path_factory.mktemp("diagrams"))
    with built.app.app_context():
        create_user("prosecutor-danang", role="prosecutor", unit="danang", password=PASSWORD_DANANG)
    return built


def post_json(client: FlaskClient, url: str, body: object) -> TestResponse:
    return client.post(
        url,
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": token(client)},
    )


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), "blue").save(out, "JPEG", quality=80)
    return out.getvalue()


def pdf_bytes(pages: int = 2) -> bytes:
    images = [Image.new("RGB", (200, 100), colour) for colour in ("white", "green")]
    images = (images * pages)[:pages]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return out.getvalue()


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150">'
    b'<rect width="300" height="150" fill="#0000ff"/>'
    b'<text x="10" y="80">S\xc6\xa1 \xc4\x91\xe1\xbb\x93</text>'
    b"</svg>"
)


def layer_count(console: Console) -> int:
    with console.app.app_context():
        return db.session.query(DiagramLayer).count()


@pytest.mark.parametrize(
    ("data", "filename", "media_type", "pages"),
    [
        (png_bytes(), "a.png", "image/png", 1),
        (jpeg_bytes(), "b.jpg", "image/jpeg", 1),
        (pdf_bytes(2), "c.pdf", "application/pdf", 2),
        (SVG, "d.svg", "image/svg+xml", 1),
    ],
    ids=["png", "jpeg", "pdf", "svg"],
)
def test_upload_stores_the_original_write_once_and_shows_pngs(
    console: Console, data: bytes, filename: str, media_type: str, pages: int
) -> None:
    client = client_for(console, "prosecutor")
    diagram_id = uploaded_id(upload(client, data, filename=filename))
    row = diagram_row(console, diagram_id)
    sha256 = hashlib.sha256(data).hexdigest()
    assert (row.sha256, row.size, row.media_type) == (sha256, len(data), media_type)
    assert row.unit_code == "hanoi"

    stored = exhibits(console) / sha256
    assert stored.read_bytes() == data
    assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)

    page = client.get(f"/diagrams/{diagram_id}")
    assert page.status_code == 200 and sha256 in page.get_data(as_text=True)
    payload = diagram_payload_of(page)
    assert len(payload["pages"]) == pages and payload["sha256"] == sha256
    for url, size in zip(payload["pages"], payload["page_sizes"], strict=True):
        shown = client.get(url)
        assert shown.status_code == 200 and shown.mimetype == "image/png"
        assert shown.data.startswith(PNG_MAGIC)
        assert list(Image.open(io.BytesIO(shown.data)).size) == size
    assert client.get(f"/diagrams/{diagram_id}/pages/{pages}.png").status_code == 404

    download = client.get(f"/diagrams/{diagram_id}/original")
    assert download.status_code == 200 and download.data == data
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")


def display(console: Console, sha256: str) -> Path:
    return exhibits(console) / "display" / sha256


def upload_event(console: Console, diagram_id: int) -> Any:
    [event] = [e for e in events(console, "diagram_upload") if e.detail["diagram"] == diagram_id]
    return event


def page_files(console: Console, sha256: str) -> dict[str, tuple[int, bytes]]:
    """Every page file and the record beside them: inode and bytes."""
    return {
        path.name: (path.stat().st_ino, path.read_bytes())
        for path in display(console, sha256).iterdir()
        if path.suffix in (".png", ".json", ".sig")
    }


def test_the_same_file_twice_is_one_stored_original_with_one_set_of_pages(
    console: Console,
) -> None:
    client = client_for(console, "court-clerk")
    data = pdf_bytes(2)[:-1] + b"\n"  # bytes of their own: no other test stores these pages
    first = uploaded_id(upload(client, data, filename="twice.pdf"))
    sha256 = diagram_row(console, first).sha256
    files = page_files(console, sha256)
    second = uploaded_id(upload(client, data, title="Bản sao", filename="twice.pdf"))
    assert first != second and diagram_row(console, second).sha256 == sha256
    assert page_files(console, sha256) == files  # the same files, not written again

    recorded = json.loads(files["pages.json"][1])
    assert recorded["original_sha256"] == sha256
    pages = [hashlib.sha256(files[f"{n}.png"][1]).hexdigest() for n in range(2)]
    assert [page["sha256"] for page in recorded["pages"]] == pages
    assert not (display(console, sha256) / "pages.json").stat().st_mode & stat.S_IWUSR
    for diagram_id, new in ((first, True), (second, False)):
        detail = upload_event(console, diagram_id).detail
        assert detail["pages"] == recorded["pages"] and detail["pages_new"] is new
        payload = diagram_payload_of(client.get(f"/diagrams/{diagram_id}"))
        assert payload["page_sha256"] == pages


WELL_FORMED_LAYER: dict[str, Any] = {
    "name": "Chú thích của kiểm sát viên",
    "shapes": [
        {"type": "arrow", "x1": 0.1, "y1": 0.1, "x2": 0.5, "y2": 0.6, "colour": "red"},
        {"type": "highlight", "x": 0.2, "y": 0.2, "w": 0.3, "h": 0.2, "colour": "yellow"},
        {
            "type": "callout",
            "x": 0.6,
            "y": 0.05,
            "w": 0.35,
            "h": 0.2,
            "px": 0.4,
            "py": 0.5,
            "text": "Vị trí con dao được tìm thấy",
        },
        {"type": "label", "x": 0.05, "y": 0.9, "text": "Cửa sau — lối thoát", "size": "large"},
        {"type": "box", "x": 0, "y": 0, "w": 1, "h": 1, "colour": "blue", "text": ""},
    ],
}


def test_layers_keep_the_original_untouched(console: Console) -> None:
    client = client_for(console, "prosecutor")
    data = png_bytes((120, 90), "white")
    diagram_id = uploaded_id(upload(client, data))
    sha256 = hashlib.sha256(data).hexdigest()
    before = events(console, "diagram_layer_saved")

    created = post_json(client, f"/diagrams/{diagram_id}/layers", WELL_FORMED_LAYER)
    assert created.status_code == 201, created.get_data(as_text=True)
    layer_id = created.get_json()["id"]
    changed = {**WELL_FORMED_LAYER, "shapes": WELL_FORMED_LAYER["shapes"][:2]}
    assert (
        post_json(client, f"/diagrams/{diagram_id}/layers/{layer_id}", changed).status_code == 200
    )

    assert (exhibits(console) / sha256).read_bytes() == data
    assert diagram_row(console, diagram_id).sha256 == sha256
    assert client.get(f"/diagrams/{diagram_id}/original").data == data
    payload = diagram_payload_of(client.get(f"/diagrams/{diagram_id}"))
    [layer] = payload["layers"]
    assert layer["name"] == "Chú thích của kiểm sát viên" and len(layer["shapes"]) == 2
    assert layer["shapes"][0] == {**WELL_FORMED_LAYER["shapes"][0], "page": 0}

    saved = events(console, "diagram_layer_saved")[len(before) :]
    assert [e.detail["created"] for e in saved] == [True, False]
    assert all(e.detail["diagram"] == diagram_id and e.detail["sha256"] == sha256 for e in saved)
    assert saved[1].detail["shapes"] == 2
    assert json.loads(saved[1].detail["content"]) == layer["shapes"]  # the log keeps every version


def test_vietnamese_text_is_kept_whole_and_normalised(console: Console) -> None:
    client = client_for(console, "prosecutor")
    diagram_id = uploaded_id(upload(client, png_bytes((30, 30), "gray")))
    decomposed = "Nguye\u0302\u0303n Va\u0306n A"  # as some keyboards send it
    body = {"name": "Tên", "shapes": [{"type": "label", "x": 0.5, "y": 0.5, "text": decomposed}]}
    assert post_json(client, f"/diagrams/{diagram_id}/layers", body).status_code == 201
    payload = diagram_payload_of(client.get(f"/diagrams/{diagram_id}"))
    assert payload["layers"][0]["shapes"][0]["text"] == "Nguyễn Văn A"


def _label(**changes: object) -> dict[str, object]:
    return {"type": "label", "x": 0.5, "y": 0.5, "text": "Nhãn", **changes}


BAD_LAYERS: dict[str, object] = {
    "not a list": {"name": "L", "shapes": {"type": "label"}},
    "unknown type": {"name": "L", "shapes": [{"type": "script", "x": 0.1, "y": 0.1}]},
    "outside the picture": {"name": "L", "shapes": [_label(x=1.5)]},
    "negative": {"name": "L", "shapes": [_label(y=-0.1)]},
    "coordinate as text": {"name": "L", "shapes": [_label(x="0.5")]},
    "coordinate as bool": {"name": "L", "shapes": [_label(x=True)]},
    "colour outside the palette": {"name": "L", "shapes": [_label(colour="#ff0000")]},
    "markup colour": {"name": "L", "shapes": [_label(colour="red;fill:url(x)")]},
    "extra field": {"name": "L", "shapes": [_label(onclick="alert(1)")]},
    "text too long": {"name": "L", "shapes": [_label(text="ô" * 301)]},
    "empty label": {"name": "L", "shapes": [_label(text="")]},
    "control character": {"name": "L", "shapes": [_label(text="a\u202eb")]},
    "rectangle past the edge": {
        "name": "L",
        "shapes": [{"type": "highlight", "x": 0.8, "y": 0.1, "w": 0.5, "h": 0.1}],
    },
    "zero width": {"name": "L", "shapes": [{"type": "box", "x": 0.1, "y": 0.1, "w": 0, "h": 0.1}]},
    "arrow without length": {
        "name": "L",
        "shapes": [{"type": "arrow", "x1": 0.2, "y1": 0.2, "x2": 0.2, "y2": 0.2}],
    },
    "too many shapes": {"name": "L", "shapes": [_label()] * 201},
    "no name": {"name": "  ", "shapes": [_label()]},
    "name on two lines": {"name": "a\nb", "shapes": [_label()]},
    "not an object": [1, 2, 3],
}


@pytest.mark.parametrize("body", BAD_LAYERS.values(), ids=BAD_LAYERS.keys())
def test_bad_shapes_are_refused_and_change_nothing(console: Console, body: object) -> None:
    client = client_for(console, "prosecutor")
    diagram_id = uploaded_id(upload(client, png_bytes((10, 10), "olive")))
    good = post_json(client, f"/diagrams/{diagram_id}/layers", WELL_FORMED_LAYER).get_json()
    layers, saved = layer_count(console), len(events(console, "diagram_layer_saved"))

    for url in (f"/diagrams/{diagram_id}/layers", f"/diagrams/{diagram_id}/layers/{good['id']}"):
        response = post_json(client, url, body)
        assert response.status_code == 400, (url, response.get_data(as_text=True))
    assert layer_count(console) == layers
    assert len(events(console, "diagram_layer_saved")) == saved
    payload = diagram_payload_of(client.get(f"/diagrams/{diagram_id}"))
    assert len(payload["layers"][0]["shapes"]) == len(WELL_FORMED_LAYER["shapes"])


def test_a_full_layer_of_vietnamese_text_fits_the_json_limit(console: Console) -> None:
    client = client_for(console, "prosecutor")
    diagram_id = uploaded_id(upload(client, png_bytes((12, 12), "teal")))
    text = ("Người làm chứng đứng ở góc đường " * 10)[:300]
    body = {"name": "Đầy", "shapes": [_label(text=text)] * 200}
    assert len(json.dumps(body)) > 64 * 1024  # more than the console's default body limit
    assert post_json(client, f"/diagrams/{diagram_id}/layers", body).status_code == 201


def test_a_drawn_diagram_keeps_its_first_drawing_as_the_original(console: Console) -> None:
    client = client_for(console, "court-clerk")
    shapes = [
        {"type": "box", "x": 0.1, "y": 0.1, "w": 0.2, "h": 0.1, "text": "Nguyễn Văn A"},
        {"type": "box", "x": 0.6, "y": 0.1, "w": 0.2, "h": 0.1, "text": "Trần Thị B"},
        {"type": "arrow", "x1": 0.3, "y1": 0.15, "x2": 0.6, "y2": 0.15, "colour": "black"},
    ]
    created = post_json(client, "/diagrams/drawn", {"title": "Quan hệ", "shapes": shapes})
    assert created.status_code == 201, created.get_data(as_text=True)
    answer = created.get_json()
    row = diagram_row(console, answer["id"])
    original = (exhibits(console) / row.sha256).read_bytes()
    assert hashlib.sha256(original).hexdigest() == row.sha256 == answer["sha256"]
    assert row.kind == "drawn" and row.media_type == "application/vnd.sealroom.diagram+json"
    document = json.loads(original)
    assert document["shapes"][0]["text"] == "Nguyễn Văn A" and document["width"] == 1600

    layer = {"name": "Bổ sung", "shapes": [_label(text="Ngày 12/3")]}
    assert post_json(client, f"/diagrams/{row.id}/layers", layer).status_code == 201
    assert (exhibits(console) / row.sha256).read_bytes() == original
    payload = diagram_payload_of(client.get(f"/diagrams/{row.id}"))
    assert payload["pages"] == [] and payload["page_sizes"] == [[1600, 1000]]
    assert [item["original"] for item in payload["layers"]] == [True, False]
    assert payload["layers"][0]["shapes"][1]["text"] == "Trần Thị B"
    assert client.get(f"/diagrams/{row.id}/pages/0.png").status_code == 404

    for bad in ({"title": "", "shapes": shapes}, {"title": "T", "shapes": []}, {"shapes": shapes}):
        assert post_json(client, "/diagrams/drawn", bad).status_code == 400


def test_another_units_diagram_is_not_found_and_the_attempt_logged(console: Console) -> None:
    owner = client_for(console, "prosecutor")
    diagram_id = uploaded_id(upload(owner, png_bytes((16, 16), "navy"), title="Chỉ Hà Nội"))
    layer = post_json(owner, f"/diagrams/{diagram_id}/layers", WELL_FORMED_LAYER).get_json()

    outsider = client_for(console, "prosecutor-danang", PASSWORD_DANANG)
    assert "Chỉ Hà Nội" not in outsider.get("/diagrams/").get_data(as_text=True)
    denials = len(events(console, "access_denied"))
    gets = ["", "/pages/0.png", "/original", "/annotate"]
    for suffix in gets:
        assert outsider.get(f"/diagrams/{diagram_id}{suffix}").status_code == 404, suffix
    layer_url = f"/diagrams/{diagram_id}/layers/{layer['id']}"
    assert post_json(outsider, layer_url, WELL_FORMED_LAYER).status_code == 404
    assert (
        post_json(outsider, f"/diagrams/{diagram_id}/layers", WELL_FORMED_LAYER).status_code == 404
    )
    denied = events(console, "access_denied")[denials:]
    assert len(denied) == len(gets) + 2
    assert all(e.detail["diagram"] == diagram_id and e.actor == "prosecutor-danang" for e in denied)

    # The supervisor of the same unit may look but not annotate; the administrator sees nothing.
    supervisor = client_for(console, "supervisor")
    assert supervisor.get(f"/diagrams/{diagram_id}").status_code == 200
    assert (
        post_json(supervisor, f"/diagrams/{diagram_id}/layers", WELL_FORMED_LAYER).status_code
        == 403
    )
    admin = client_for(console, "admin")
    assert admin.get(f"/diagrams/{diagram_id}/original").status_code == 403


def test_every_touch_is_a_custody_event(console: Console) -> None:
    client = client_for(console, "prosecutor")
    data = png_bytes((33, 33), "maroon")
    sha256 = hashlib.sha256(data).hexdigest()
    diagram_id = uploaded_id(upload(client, data))
    client.get(f"/diagrams/{diagram_id}")
    client.get(f"/diagrams/{diagram_id}/pages/0.png")
    client.get(f"/diagrams/{diagram_id}/pages/0.png")  # once per login, not per request
    client.get(f"/diagrams/{diagram_id}/original")
    layer = post_json(client, f"/diagrams/{diagram_id}/layers", WELL_FORMED_LAYER).get_json()
    removed = client.post(
        f"/diagrams/{diagram_id}/layers/{layer['id']}/delete", data={"csrf_token": token(client)}
    )
    assert removed.status_code == 302

    def mine(action: str) -> list[Any]:
        return [e for e in events(console, action) if e.detail.get("diagram") == diagram_id]

    for action, count in (
        ("diagram_upload", 1),
        ("diagram_view", 1),
        ("diagram_display", 1),
        ("diagram_download", 1),
        ("diagram_layer_saved", 1),
        ("diagram_layer_deleted", 1),
    ):
        found = mine(action)
        assert len(found) == count, action
        assert all(e.detail["sha256"] == sha256 and e.actor == "prosecutor" for e in found)
    assert mine("diagram_upload")[0].detail["media_type"] == "image/png"


REFUSED_UPLOADS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "text file": (lambda: b"just some notes\n", "notes.png", "unsupported"),
    "html named png": (
        lambda: b"<!doctype html><html><script>alert(1)</script></html>",
        "x.png",
        "unsupported",
    ),
    "gif": (lambda: b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "x.gif", "unsupported"),
    "truncated png": (lambda: png_bytes((300, 300), "red")[:-40], "t.png", "bad_image"),
    "pixel bomb": (lambda: png_bytes((10_000, 10_000), 0, "1"), "bomb.png", "too_many_pixels"),
    "pdf with too many pages": (lambda: pdf_bytes(31), "long.pdf", "pdf_pages"),
    "broken pdf": (lambda: b"%PDF-1.7\n1 0 obj garbage", "broken.pdf", "bad_pdf"),
}


@pytest.mark.parametrize(
    ("make", "filename", "reason"), REFUSED_UPLOADS.values(), ids=REFUSED_UPLOADS.keys()
)
def test_refused_uploads_leave_nothing_behind(
    console: Console, make: Callable[[], bytes], filename: str, reason: str
) -> None:
    data = make()
    client = client_for(console, "prosecutor")
    with console.app.app_context():
        diagrams = db.session.query(Diagram).count()
    originals = stored_originals(console)
    response = upload(client, data, filename=filename, content_type="image/png")
    assert response.status_code == 400
    assert 'class="flash error"' in response.get_data(as_text=True)
    with console.app.app_context():
        assert db.session.query(Diagram).count() == diagrams
    assert stored_originals(console) == originals
    refused = events(console, "diagram_upload_refused")[-1]
    assert refused.detail["reason"] == reason
    assert refused.detail["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_empty_file_is_refused(console: Console) -> None:
    client = client_for(console, "prosecutor")
    assert upload(client, b"", filename="empty.png").status_code == 400


def test_upload_size_limits(console: Console) -> None:
    client = client_for(console, "prosecutor")
    too_big = b"\x89PNG\r\n\x1a\n" + b"\0" * (20 * 1024 * 1024 + 300 * 1024)
    assert upload(client, too_big).status_code == 413
    # The larger body is for the file: a form field over the console's limit is still refused.
    big_form = {"csrf_token": token(client), "title": "x" * 100_000}
    response = client.post("/diagrams/upload", data=big_form, content_type="multipart/form-data")
    assert response.status_code == 413
    # And only for those who may upload.
    clerk_free = client_for(console, "auditor")
    assert upload(clerk_free, png_bytes((300, 300), "red") + b"\0" * 100_000).status_code == 413


# -- display pages tied to the original -----------------------------------------------------


def page_events(console: Console, action: str, diagram_id: int) -> list[Any]:
    return [e for e in events(console, action) if e.detail.get("diagram") == diagram_id]


def test_a_replaced_display_page_is_refused_logged_and_made_again(console: Console) -> None:
    client = client_for(console, "prosecutor")
    data = pdf_bytes(2)[:-1] + b" \n"
    diagram_id = uploaded_id(upload(client, data, filename="forged.pdf"))
    sha256 = hashlib.sha256(data).hexdigest()
    recorded = [page["sha256"] for page in upload_event(console, diagram_id).detail["pages"]]
    page0 = display(console, sha256) / "0.png"
    genuine = page0.read_bytes()
    forged = png_bytes((200, 100), "black")
    forge(page0, forged)

    refused = client.get(f"/diagrams/{diagram_id}/pages/0.png")
    assert refused.status_code == 409 and refused.mimetype == "text/plain"
    assert forged not in refused.data
    assert "không khớp" in refused.get_data(as_text=True)  # the console speaks Vietnamese
    [event] = page_events(console, "diagram_page_refused", diagram_id)
    assert event.detail["page"] == 0 and event.detail["sha256"] == sha256
    assert event.detail["expected_sha256"] == recorded[0]
    assert event.detail["found_sha256"] == hashlib.sha256(forged).hexdigest()
    assert len(page_events(console, "diagram_page_restored", diagram_id)) == 1

    # The untouched page was served all along; the forged bytes are kept aside, not shown.
    other = client.get(f"/diagrams/{diagram_id}/pages/1.png")
    assert other.status_code == 200 and hashlib.sha256(other.data).hexdigest() == recorded[1]
    kept = display(console, sha256) / "refused" / f"0-{hashlib.sha256(forged).hexdigest()}.png"
    assert kept.read_bytes() == forged
    again = client.get(f"/diagrams/{diagram_id}/pages/0.png")
    assert again.status_code == 200 and again.data == genuine
    assert hashlib.sha256(again.data).hexdigest() == recorded[0]
    assert len(page_events(console, "diagram_page_refused", diagram_id)) == 1


def test_a_page_is_not_made_again_from_an_original_that_fails_its_hash(console: Console) -> None:
    client = client_for(console, "prosecutor")
    data = png_bytes((41, 29), "olive")
    diagram_id = uploaded_id(upload(client, data))
    sha256 = hashlib.sha256(data).hexdigest()
    url = f"/diagrams/{diagram_id}/pages/0.png"
    forged = png_bytes((41, 29), "white")
    forge(display(console, sha256) / "0.png", forged)
    forge(exhibits(console) / sha256, png_bytes((41, 29), "white"))
    try:
        for _ in range(2):  # refused every time: nothing is put back from a bad original
            assert client.get(url).status_code == 409
        assert (display(console, sha256) / "0.png").read_bytes() == forged
        [failed] = page_events(console, "diagram_page_restore_failed", diagram_id)
        assert "does not match" in failed.detail["reason"]
        assert page_events(console, "diagram_page_restored", diagram_id) == []
        # The failure is remembered: the second request did not try again...
        refusals = page_events(console, "diagram_page_refused", diagram_id)
        assert [event.detail.get("retried") for event in refusals] == [None, False]
    finally:
        forge(exhibits(console) / sha256, data)
    # ...and neither does the next one, although the original is good again: no new render.
    assert client.get(url).status_code == 409
    assert page_events(console, "diagram_page_restored", diagram_id) == []
    console.app.config[RETRY_KEY] = 0  # once the failure is old, it is tried again
    try:
        assert client.get(url).status_code == 409
        assert len(page_events(console, "diagram_page_restored", diagram_id)) == 1
        assert client.get(url).data == (display(console, sha256) / "0.png").read_bytes()
    finally:
        del console.app.config[RETRY_KEY]


def test_a_missing_page_is_refused_and_made_again(console: Console) -> None:
    client = client_for(console, "court-clerk")
    data = png_bytes((52, 18), "navy")
    diagram_id = uploaded_id(upload(client, data))
    page0 = display(console, hashlib.sha256(data).hexdigest()) / "0.png"
    genuine = page0.read_bytes()
    page0.unlink()
    assert client.get(f"/diagrams/{diagram_id}/pages/0.png").status_code == 409
    [event] = page_events(console, "diagram_page_refused", diagram_id)
    assert event.detail["found_sha256"] is None
    assert client.get(f"/diagrams/{diagram_id}/pages/0.png").data == genuine


def test_uploading_again_puts_back_a_replaced_page(console: Console) -> None:
    client = client_for(console, "prosecutor")
    data = png_bytes((61, 23), "teal")
    sha256 = hashlib.sha256(data).hexdigest()
    first = uploaded_id(upload(client, data))
    genuine = (display(console, sha256) / "0.png").read_bytes()
    forge(display(console, sha256) / "0.png", png_bytes((61, 23), "red"))
    second = uploaded_id(upload(client, data, title="Lần hai"))
    assert (display(console, sha256) / "0.png").read_bytes() == genuine
    refusals = [e for e in events(console, "diagram_page_refused") if e.detail["sha256"] == sha256]
    assert len(refusals) == 1 and "diagram" not in refusals[0].detail  # found before the row
    assert (
        upload_event(console, second).detail["pages"]
        == upload_event(console, first).detail["pages"]
    )


def test_pages_stored_without_a_record_are_checked_then_recorded(console: Console) -> None:
    client = client_for(console, "prosecutor")
    data = png_bytes((70, 30), "silver")
    sha256 = hashlib.sha256(data).hexdigest()
    diagram_id = uploaded_id(upload(client, data))
    record = display(console, sha256) / "pages.json"
    signature = display(console, sha256) / "pages.json.sig"
    written, signed = record.read_bytes(), signature.read_bytes()
    record.unlink()  # as stored before pages were recorded
    signature.unlink()
    assert client.get(f"/diagrams/{diagram_id}").status_code == 200
    assert record.read_bytes() == written and signature.read_bytes() == signed  # Ed25519
    [derived] = page_events(console, "diagram_pages_derived", diagram_id)
    assert derived.detail["pages"] == upload_event(console, diagram_id).detail["pages"]

    # Unrecorded pages that differ from the original's render are not adopted.
    record.unlink()
    signature.unlink()
    forge(display(console, sha256) / "0.png", png_bytes((70, 30), "gray"))
    assert client.get(f"/diagrams/{diagram_id}/pages/0.png").status_code == 409
    assert not record.exists()
    [refused] = page_events(console, "diagram_pages_refused", diagram_id)
    assert "0.png" in refused.detail["reason"] or "page 0" in refused.detail["reason"]


def test_a_record_kept_before_records_were_signed_is_signed_once_rederived(
    console: Console,
) -> None:
    client = client_for(console, "court-clerk")
    data = png_bytes((71, 31), "plum")
    sha256 = hashlib.sha256(data).hexdigest()
    diagram_id = uploaded_id(upload(client, data))
    signature = display(console, sha256) / "pages.json.sig"
    signed = signature.read_bytes()
    signature.unlink()  # as kept before records were signed
    page = client.get(f"/diagrams/{diagram_id}/pages/0.png")
    assert page.status_code == 200
    assert signature.read_bytes() == signed
    [derived] = page_events(console, "diagram_pages_derived", diagram_id)
    assert derived.detail["signed_existing_record"] is True
    assert derived.detail["pages"] == upload_event(console, diagram_id).detail["pages"]


def forge_page_and_record(console: Console, sha256: str, fake: bytes) -> None:
    """Replace page 0 and rewrite pages.json to name the replacement's hash."""
    folder = display(console, sha256)
    forge(folder / "0.png", fake)
    document = json.loads((folder / "pages.json").read_bytes())
    document["pages"][0].update(sha256=hashlib.sha256(fake).hexdigest(), size=len(fake))
    forge(
        folder / "pages.json", json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    )


def test_a_page_replaced_with_its_record_is_refused(console: Console) -> None:
    client = client_for(console, "court-clerk")
    data = png_bytes((64, 48), "teal")
    sha256 = hashlib.sha256(data).hexdigest()
    diagram_id = uploaded_id(upload(client, data))
    folder = display(console, sha256)
    genuine = {name: (folder / name).read_bytes() for name in ("0.png", "pages.json")}
    fake = png_bytes((64, 48), "red")
    forge_page_and_record(console, sha256, fake)

    page = client.get(f"/diagrams/{diagram_id}/pages/0.png")
    assert page.status_code == 409 and fake not in page.data
    assert client.get(f"/diagrams/{diagram_id}").status_code == 409
    assert client.get(f"/diagrams/{diagram_id}/annotate").status_code == 409
    refusals = page_events(console, "diagram_pages_refused", diagram_id)
    assert len(refusals) == 3 and "does not verify" in refusals[0].detail["reason"]

    # Removing the signature too (as if kept before records were signed) does not help: an
    # unsigned record is trusted only if a new render of the original reproduces it.
    (folder / "pages.json.sig").unlink()
    assert client.get(f"/diagrams/{diagram_id}/pages/0.png").status_code == 409
    assert not (folder / "pages.json.sig").exists()
    assert (
        "differs from a new render"
        in page_events(console, "diagram_pages_refused", diagram_id)[-1].detail["reason"]
    )
    assert page_events(console, "diagram_pages_derived", diagram_id) == []
    for name, content in genuine.items():  # put back, for the tests that follow
        forge(folder / name, content)


def test_a_tampered_record_signature_is_refused(console: Console) -> None:
    client = client_for(console, "court-clerk")
    data = png_bytes((64, 49), "teal")
    sha256 = hashlib.sha256(data).hexdigest()
    diagram_id = uploaded_id(upload(client, data))
    signature = display(console, sha256) / "pages.json.sig"
    genuine = signature.read_bytes()
    forge(signature, bytes([genuine[0] ^ 1]) + genuine[1:])
    try:
        assert client.get(f"/diagrams/{diagram_id}/pages/0.png").status_code == 409
        [refused] = page_events(console, "diagram_pages_refused", diagram_id)
        assert "does not verify" in refused.detail["reason"]
        again = upload(client, data)  # nor is the record accepted by a new upload
        assert again.status_code == 409
    finally:
        forge(signature, genuine)
    assert client.get(f"/diagrams/{diagram_id}/pages/0.png").status_code == 200


def test_the_store_never_keeps_a_differing_page_silently(tmp_path: Path) -> None:
    store = ExhibitStore(tmp_path, signer=DeviceSigner(Ed25519PrivateKey.generate()))
    data = png_bytes((9, 9), "red")
    sha256 = store.put_original(data)
    planted = store.page_path(sha256, 0)
    planted.parent.mkdir(parents=True)
    planted.write_bytes(png_bytes((9, 9), "blue"))
    with pytest.raises(PageMismatch) as caught:
        store.put_pages(sha256, [data])
    assert caught.value.expected == hashlib.sha256(data).hexdigest()
    assert store.read_pages(sha256) is None

    planted.unlink()
    recorded, new = store.put_pages(sha256, [data])
    assert new and recorded.pages[0].sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(PageMismatch):  # a render that differs from the record is not taken
        store.restore_page(sha256, 0, png_bytes((9, 9), "green"))
    assert store.read_page(sha256, 0, recorded.pages[0]) == data

    # Another key (someone who can write exhibits/ but not read <data_dir>/keys) is refused.
    stranger = ExhibitStore(tmp_path, signer=DeviceSigner(Ed25519PrivateKey.generate()))
    with pytest.raises(RecordRefused):
        stranger.read_pages(sha256)


def test_a_record_name_taken_by_something_else_is_refused_not_reported_recorded(
    tmp_path: Path,
) -> None:
    # Stricter than before, as the evidence store is: a write-once name that holds something
    # else is an error, never a silent success (this was once reported recorded, and signed).
    store = ExhibitStore(tmp_path, signer=DeviceSigner(Ed25519PrivateKey.generate()))
    data = png_bytes((9, 9), "red")
    sha256 = store.put_original(data)
    record = store.display_dir(sha256) / "pages.json"
    record.parent.mkdir(parents=True)
    record.symlink_to(tmp_path / "elsewhere.json")  # reads as missing, yet the name is taken
    with pytest.raises(RecordRefused, match="taken by something other than this record"):
        store.put_pages(sha256, [data])
    assert record.is_symlink() and not (tmp_path / "elsewhere.json").exists()
    assert not (record.parent / "pages.json.sig").exists()


def test_a_reader_never_finds_a_page_missing_while_it_is_put_back(tmp_path: Path) -> None:
    store = ExhibitStore(tmp_path, signer=DeviceSigner(Ed25519PrivateKey.generate()))
    genuine = png_bytes((300, 300), "red")
    sha256 = store.put_original(genuine)
    store.put_pages(sha256, [genuine])
    path = store.page_path(sha256, 0)
    forged = [png_bytes((300, 300), (n, 0, 0)) for n in range(40)]
    seen: list[bytes | None] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.append(path.read_bytes())
            except FileNotFoundError:
                seen.append(None)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for fake in forged:
            planted = path.with_name("planted")  # planted whole, so only restoring is tested
            planted.write_bytes(fake)
            planted.replace(path)
            store.restore_page(sha256, 0, genuine)
    finally:
        done.set()
        reader.join()
    assert None not in seen and set(seen) <= {genuine, *forged}
    assert len(list((path.parent / "refused").iterdir())) == len(forged)
