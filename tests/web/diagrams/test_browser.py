"""The diagram editor in real Chromium: a prosecutor draws a sơ đồ (a box, an arrow, a
Vietnamese label), saves it, reloads, and finds it as drawn; then adds an annotation layer.
No Content-Security-Policy violation or script error on the way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.support.browser import free_port, log_in, shot, wait_for, wait_js
from tests.support.console import build_console

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("diagram-browser")
    data = str(root / "data")
    build_console(root / "data")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    log = root / "console.log"
    with log.open("wb") as handle:
        console = subprocess.Popen(
            [sys.executable, "-m", "sealroom", "console", "--port", str(port), "--data-dir", data],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/login")
        yield f"http://127.0.0.1:{port}"
    finally:
        console.terminate()
        try:
            console.wait(timeout=10)
        except subprocess.TimeoutExpired:
            console.kill()
        print("--- console.log\n" + Path(log).read_text(errors="replace")[-3000:])


def drag(
    page: object, box: dict[str, float], start: tuple[float, float], end: tuple[float, float]
) -> None:
    """Press at ``start`` and release at ``end``, both fractions of ``box``."""
    mouse = page.mouse  # type: ignore[attr-defined]
    mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    mouse.down()
    mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=5)
    mouse.up()


def count(page: object, selector: str) -> int:
    return int(page.evaluate(f"document.querySelectorAll({selector!r}).length"))  # type: ignore[attr-defined]


def test_draw_save_reload_annotate(base: str, browser: object) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 1100})  # type: ignore[attr-defined]
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    log_in(page, base, "prosecutor")
    page.goto(f"{base}/diagrams/draw")
    page.wait_for_selector("#editor-stage[data-ready=true] svg")
    page.fill("#drawing-title", "Sơ đồ quan hệ các bị can")
    stage = page.locator("#editor-stage svg").bounding_box()
    assert stage is not None

    page.click("#tool-box")
    page.fill("#shape-text", "Nguyễn Văn A")
    drag(page, stage, (0.1, 0.1), (0.35, 0.25))
    page.click("#tool-arrow")
    drag(page, stage, (0.35, 0.18), (0.6, 0.18))
    page.click("#tool-label")
    page.fill("#shape-text", "Đồng phạm: Trần Thị Bình")
    drag(page, stage, (0.6, 0.4), (0.6, 0.4))
    assert page.inner_text("#shape-count") == "3"
    shot(page, "diagram-01-drawing")

    page.click("#save")
    page.wait_for_url(re.compile(r".*/diagrams/\d+$"))
    page.reload()
    page.wait_for_selector("#diagram-stage svg")
    for kind in ("box", "arrow", "label"):
        assert count(page, f"#diagram-stage [data-type={kind}]") == 1, kind
    drawing = page.inner_text("#diagram-stage")
    assert "Nguyễn Văn A" in drawing and "Đồng phạm: Trần Thị Bình" in drawing
    shot(page, "diagram-02-saved")

    page.click("#annotate")
    page.wait_for_selector("#editor-stage[data-ready=true] svg")
    stage = page.locator("#editor-stage svg").bounding_box()
    assert stage is not None
    page.fill("#layer-name", "Ghi chú phiên tòa")
    page.click("#tool-highlight")
    page.select_option("#shape-colour", "yellow")
    drag(page, stage, (0.05, 0.05), (0.4, 0.3))
    page.click("#save")
    page.wait_for_url(re.compile(r".*/diagrams/\d+$"))
    wait_js(page, "document.querySelectorAll('#diagram-stage [data-type=highlight]').length === 1")
    assert "Ghi chú phiên tòa" in page.inner_text("#layers")
    assert count(page, "#diagram-stage [data-type=box]") == 1  # the drawing itself unchanged
    shot(page, "diagram-03-annotated")
    assert problems == []
    context.close()


def test_upload_view_and_zoom(base: str, browser: object, tmp_path: Path) -> None:
    picture = tmp_path / "hien-truong.png"
    Image.new("RGB", (400, 300), "white").save(picture)
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 1100})  # type: ignore[attr-defined]
    page = context.new_page()
    shown: list[str] = []
    page.on(
        "response",
        lambda r: (
            shown.append(r.headers.get("content-type", ""))
            if "/pages/0.png" in r.url and r.ok
            else None
        ),
    )
    log_in(page, base, "court-clerk")
    page.goto(f"{base}/diagrams/new")
    page.fill("#title", "Hiện trường vụ án")
    page.set_input_files("#file", str(picture))
    page.click("#upload")
    page.wait_for_url(re.compile(r".*/diagrams/\d+$"))
    wait_js(page, "document.querySelectorAll('#diagram-stage svg image').length === 1")
    page.wait_for_load_state("networkidle")
    assert shown == ["image/png"]

    # What the presenter and audience screens do: zoom into a region and add a callout.
    view_box = page.evaluate(
        """() => {
          const payload = JSON.parse(document.getElementById('diagram-data').textContent);
          const view = window.SealroomDiagram.render(document.getElementById('diagram-stage'),
            payload, {zoom: {x: 0.5, y: 0.5, w: 0.25, h: 0.25}, callouts: [{type: 'callout',
            x: 0.55, y: 0.55, w: 0.15, h: 0.1, px: 0.7, py: 0.7, text: 'Vết máu', colour: 'red'}]});
          return view.svg.getAttribute('viewBox');
        }"""
    )
    assert view_box == "200 150 100 75"
    assert "Vết máu" in page.inner_text("#diagram-stage")
    shot(page, "diagram-04-zoomed")
    context.close()
