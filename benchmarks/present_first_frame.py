"""Time from "present" on the presenter screen to the first frame on the audience screen.

    python -m benchmarks.present_first_frame [--runs 20] [--size 1280x720] [--segment-seconds 2]

Starts the console with waitress on 127.0.0.1 (as `sealroom console` serves it) over a sealed
session of real H.264 + AAC segments, a clip of it on a hearing's exhibit list, and real
Chromium with two pages of one browser context: the presenter and the audience screen.

- present: the presenter clicks "Present" (the clip, paused at its start); measured from the
  click to the audience video's first presented frame (requestVideoFrameCallback). The path:
  command POST, verification of the clip, the state stored, the server-sent event, the
  player built, the first segment fetched (read whole and checked against the clip's
  proof before it is sent) and appended, the frame decoded.
- baseline: the same audience page loaded directly while the same clip is already on
  screen (its state is in the page, no event involved); measured from the start of the
  navigation to the same first frame.

Prints the median of each (and p90) and their ratio. Never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from evidence_store.installation.data_dir import DataDir
from evidence_store.model import MediaInfo, SessionMetadata
from evidence_store.session import SessionWriter
from tests.support.console import PASSWORD, build_console
from tests.web.clips.test_clips import client_for, clip_id_of, make_clip
from tests.web.courtroom.test_hearings import add_exhibit, exhibit_ids, new_hearing

CHROMIUM = "/usr/bin/chromium"
# Records, in window.firstFrame, when the audience video presents its next frame.
ARM_FIRST_FRAME = """() => {
  window.firstFrame = 0;
  const video = document.getElementById('audience-video');
  video.requestVideoFrameCallback(() => { window.firstFrame = Date.now(); });
}"""
# The same, armed as each audience page loads (before any frame can have been decoded).
ARM_ON_LOAD = "document.addEventListener('DOMContentLoaded', " + ARM_FIRST_FRAME + ");"


def encode_segments(directory: Path, count: int, size: str, seconds: int) -> list[bytes]:
    """``count`` distinct segments as the recorder writes them: fragmented MP4, H.264 + AAC."""
    media = []
    for number in range(count):
        target = directory / f"{number:03d}.mp4"
        subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency={300 + 40 * number}:duration={seconds}",
                "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "64k", "-ac", "1",
                "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4",
                str(target),
            ],
            check=True,
        )  # fmt: skip
        media.append(target.read_bytes())
    return media


def record(data: DataDir, media: list[bytes], size: str, seconds: int) -> str:
    width, height = (int(v) for v in size.split("x"))
    info = MediaInfo(
        width=width, height=height, fps=25, sample_rate=48000, channels=1, segment_seconds=seconds
    )
    metadata = SessionMetadata(case_number="BENCH-1", room="Phòng 1", unit="hanoi-bd")
    writer = SessionWriter.start(data.store(create=True), data.signer(), metadata, info)
    step = seconds * 1_000_000
    for index, body in enumerate(media):
        writer.inflight_path(index).write_bytes(body)
        writer.seal_segment(index, start_us=index * step, duration_us=step)
    writer.stop("benchmark")
    return writer.session_id


def wait_until(page: Any, expression: str, timeout: float = 30) -> None:
    """Poll in the page (the console's CSP forbids Playwright's eval-based waiting)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.01)


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    median = statistics.median(values)
    return f"{name:9}: median {median:7.1f} ms   p90 {p90:7.1f} ms   ({len(values)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--segment-seconds", type=int, default=2)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    from waitress.server import create_server

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "media").mkdir()
        console = build_console(root / "data")
        media = encode_segments(root / "media", 4, args.size, args.segment_seconds)
        session_id = record(console.data, media, args.size, args.segment_seconds)
        prosecutor = client_for(console.app, "prosecutor")
        status, clip = make_clip(prosecutor, session_id, "0:01", "0:05", title="Benchmark")
        assert status == 302, clip
        clerk = client_for(console.app, "court-clerk")
        hearing_id = new_hearing(clerk, case="BENCH-1")
        add_exhibit(clerk, hearing_id, f"clip-{clip_id_of(clip)}")
        (entry,) = exhibit_ids(console.app, hearing_id)

        server = create_server(console.app, host="127.0.0.1", port=0, threads=16)
        base = f"http://127.0.0.1:{server.effective_port}"
        threading.Thread(target=server.run, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    headless=True,
                    args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
                )
                present, direct = measure(browser, base, hearing_id, entry, args.runs)
                browser.close()
        finally:
            server.close()
    print(f"clip of 4 s from {args.size} segments of {args.segment_seconds} s")
    print(summary("present", present))
    print(summary("baseline", direct) + "  (audience page loaded with the clip on screen)")
    ratio = statistics.median(present) / statistics.median(direct)
    print(f"ratio present/baseline (medians): {ratio:.2f}")


def measure(
    browser: Any, base: str, hearing_id: int, entry: int, runs: int
) -> tuple[list[float], list[float]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    presenter = context.new_page()
    presenter.goto(f"{base}/login")
    presenter.fill("#username", "court-clerk")
    presenter.fill("#password", PASSWORD)
    presenter.click("#login")
    presenter.wait_for_load_state()
    presenter.goto(f"{base}/hearings/{hearing_id}/present")
    presenter.uncheck("#autoplay")  # paused at the clip's start: the same frame both ways
    audience = context.new_page()
    audience_url = f"{base}/hearings/{hearing_id}/audience"
    audience.goto(audience_url)
    wait_until(audience, "document.getElementById('audience').dataset.live === 'true'")

    present: list[float] = []
    for _ in range(runs + 1):  # the first run warms caches and connections: not counted
        presenter.click("#withdraw")
        wait_until(audience, "document.getElementById('audience').dataset.kind === 'none'")
        audience.evaluate(ARM_FIRST_FRAME)
        clicked = presenter.evaluate(
            "(id) => { const at = Date.now();"
            " document.querySelector(`button.present[data-exhibit-id='${id}']`).click();"
            " return at; }",
            entry,
        )
        wait_until(audience, "window.firstFrame > 0")
        present.append(audience.evaluate("() => window.firstFrame") - clicked)
    present = present[1:]

    direct: list[float] = []
    audience.add_init_script(ARM_ON_LOAD)
    for _ in range(runs + 1):
        audience.goto(audience_url)
        wait_until(audience, "window.firstFrame > 0")
        direct.append(audience.evaluate("() => window.firstFrame - performance.timeOrigin"))
    direct = direct[1:]
    context.close()
    return present, direct


if __name__ == "__main__":
    main()
