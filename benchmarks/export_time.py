"""Export time for a one-hour session against plain copying of the same bytes, same run.

    python -m benchmarks.export_time [--minutes 60] [--mbit 2.5] [--segment-seconds 2]
                                     [--rounds 2] [--zip]

Builds a sealed session of realistic size: one real H.264 + AAC segment is encoded with
ffmpeg at about the given bit rate and padded or cut to the exact size, and each segment of
the session is a copy of it with its own index appended (so every segment hashes
differently, as in a recording). Then times, alternately and best of N:

  (a) ``shutil.copytree`` of the session's segment files (the baseline: bytes on disk), and
      of the whole session directory (the same files an export copies);
  (b) ``build_package``: copy every object, verify the copy, write READMEs, player, verifier
      and PACKAGE-SHA256SUMS (with ``--zip``, the .zip the console builds).

Dirty pages are flushed (``os.sync``) before each timing, so neither side pays for the
other's writes. Prints both, the ratio, and confirms the package verifies. Never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evidence_store.export.package import ExportSpec, build_package
from evidence_store.model import MediaInfo, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore


def real_segment(directory: Path, seconds: int, mbit: float) -> bytes:
    """One fragmented MP4 segment of ``seconds`` at about ``mbit`` Mbit/s."""
    target = directory / "sample.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", f"{mbit}M", "-g", "50",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ac", "1",
         "-movflags", "frag_keyframe+empty_moov+default_base_moof", str(target)],
        check=True,
    )  # fmt: skip
    return target.read_bytes()


def build_session(
    root: Path, minutes: float, mbit: float, segment_seconds: int
) -> tuple[FilesystemStore, str, int]:
    store = FilesystemStore.open(root / "evidence", create=True)
    signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
    metadata = SessionMetadata(case_number="BENCH-1", room="Phòng hỏi cung 1")
    media = MediaInfo(
        width=1280,
        height=720,
        fps=25,
        sample_rate=48000,
        channels=1,
        segment_seconds=segment_seconds,
    )
    size = int(mbit * 1e6 / 8 * segment_seconds)
    sample = real_segment(root, segment_seconds, mbit)
    sample = (sample * (size // len(sample) + 1))[:size]
    count = int(minutes * 60 / segment_seconds)
    duration_us = segment_seconds * 1_000_000
    writer = SessionWriter.start(store, signer, metadata, media)
    for index in range(count):
        writer.inflight_path(index).write_bytes(sample + index.to_bytes(4, "big"))
        writer.seal_segment(index, start_us=index * duration_us, duration_us=duration_us)
    writer.stop("benchmark")
    writer.close()
    return store, writer.session_id, count


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--mbit", type=float, default=2.5)
    parser.add_argument("--segment-seconds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--zip", action="store_true", help="build the .zip the console makes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("building the session ...", file=sys.stderr)
        store, session_id, count = build_session(
            root, args.minutes, args.mbit, args.segment_seconds
        )
        segments = store.path(f"sessions/{session_id}/segments")
        total = sum(p.stat().st_size for p in segments.iterdir())
        trust = TrustStore.from_paths([root / "trust"])
        shutil.copytree(segments, root / "warm")  # both sides read from the page cache
        shutil.rmtree(root / "warm")
        session_dir = segments.parent
        best = {"segments": float("inf"), "session": float("inf"), "export": float("inf")}
        package = None
        for round_number in range(args.rounds):
            for name, source in (("segments", segments), ("session", session_dir)):
                target = root / f"copy-{name}-{round_number}"
                os.sync()  # neither side pays for the other's dirty pages
                start = time.perf_counter()
                shutil.copytree(source, target)
                best[name] = min(best[name], time.perf_counter() - start)
                _remove(target)
            out = root / (f"package-{round_number}" + (".zip" if args.zip else ""))
            os.sync()
            start = time.perf_counter()
            package = build_package(
                store,
                ExportSpec(session_id),
                trust,
                out,
                custody=[],
                exported_by="bench",
                as_zip=args.zip,
                signer=ensure_device_identity(root / "keys", root / "trust", device_name="bench"),
            )
            best["export"] = min(best["export"], time.perf_counter() - start)
            if round_number + 1 < args.rounds:
                _remove(out)
        assert package is not None
        verified = _verify(package.path, root)
        files = len(session_dir_files(package.path))
    mb = total / 1e6
    print(
        f"session: {args.minutes:g} min, {count} segments of {args.segment_seconds} s, "
        f"{mb:.0f} MB at {args.mbit} Mbit/s"
    )
    label = "export (.zip)" if args.zip else "export (directory)"
    for name, text in (
        ("segments", "copytree, segment files only"),
        ("session", "copytree, whole session dir"),
        ("export", label),
    ):
        print(f"{text:<30}: {best[name]:6.2f} s  ({mb / best[name]:5.0f} MB/s)")
    print(f"ratio export / copy (segments): {best['export'] / best['segments']:6.2f}")
    print(f"ratio export / copy (session) : {best['export'] / best['session']:6.2f}")
    print(f"package                       : {files} files; verify.py: {verified}")


def session_dir_files(path: Path) -> list[Path]:
    if path.suffix == ".zip":
        return [path]
    return [p for p in path.rglob("*") if p.is_file()]


def _remove(path: Path) -> None:
    if path.is_dir():
        for item in path.rglob("*"):
            if item.is_dir():
                item.chmod(0o755)
        shutil.rmtree(path)
    else:
        path.unlink()


def _verify(path: Path, root: Path) -> str:
    """Run the package's own verify.py, as a reader of the package would."""
    package = path
    if path.suffix == ".zip":
        shutil.unpack_archive(path, root / "unpacked")
        package = root / "unpacked" / path.stem
    result = subprocess.run(
        [sys.executable, "-I", "verify.py"], cwd=package, capture_output=True, text=True
    )
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    return f"exit {result.returncode}, {last}"


if __name__ == "__main__":
    main()
