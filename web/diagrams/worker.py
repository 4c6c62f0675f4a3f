"""Converting an upload in a child process, with CPU and memory limits.

Image, PDF and SVG decoders are large C libraries; a hostile file that makes one crash, loop or
eat memory then takes down a throw-away process, not the console. The parent sends the bytes
on stdin; the child answers on stdout with an 8-byte length, a JSON header and the PNG pages.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import subprocess
import sys
from typing import Any

from web.diagrams.convert import Converted, convert
from web.diagrams.limits import DiagramLimits, Rejected

_HEADER = struct.Struct(">Q")
MEMORY_LIMIT = 2 * 1024**3


def _limit_resources(cpu_seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _answer(header: dict[str, Any], pages: list[bytes]) -> None:
    encoded = json.dumps(header).encode()
    out = sys.stdout.buffer
    out.write(_HEADER.pack(len(encoded)) + encoded)
    for page in pages:
        out.write(page)
    out.flush()


def main() -> int:
    limits_and_size = json.loads(sys.stdin.buffer.readline())
    limits = DiagramLimits(**limits_and_size["limits"])
    _limit_resources(max(1, math.ceil(limits.render_seconds)))
    data = sys.stdin.buffer.read(limits_and_size["size"])
    try:
        done = convert(data, limits)
    except Rejected as refusal:
        _answer({"rejected": refusal.code, "params": refusal.params}, [])
        return 0
    header = {
        "format": done.format,
        "width": done.width,
        "height": done.height,
        "pages": [len(page) for page in done.pages],
        "refused": done.refused,
    }
    _answer(header, done.pages)
    return 0


def convert_isolated(data: bytes, limits: DiagramLimits) -> Converted:
    """``convert`` in a child process: the result, or Rejected (a crash or a timeout too)."""
    if len(data) > limits.max_bytes:  # not even handed over
        raise Rejected("too_large", {"limit": limits.max_bytes})
    request = json.dumps({"limits": dataclasses.asdict(limits), "size": len(data)}).encode()
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-m", "web.diagrams.worker"],
            input=request + b"\n" + data,
            capture_output=True,
            timeout=limits.render_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Rejected("too_complex") from None
    if done.returncode != 0 or len(done.stdout) < _HEADER.size:
        raise Rejected("too_complex" if done.returncode < 0 else "failed")
    (size,) = _HEADER.unpack_from(done.stdout)
    header = json.loads(done.stdout[_HEADER.size : _HEADER.size + size])
    if "rejected" in header:
        raise Rejected(str(header["rejected"]), dict(header.get("params") or {}))
    pages, offset = [], _HEADER.size + size
    for length in header["pages"]:
        pages.append(done.stdout[offset : offset + length])
        offset += length
    return Converted(
        format=header["format"],
        width=int(header["width"]),
        height=int(header["height"]),
        pages=pages,
        refused=list(header["refused"]),
    )


if __name__ == "__main__":
    sys.exit(main())
