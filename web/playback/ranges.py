"""Serving an object byte for byte with HTTP Range support, from whichever store holds it.

A local file goes out through ``send_file`` (the server may use sendfile). An object that
lives only in the bucket is streamed with one ranged GET per request, so seeking far into a
long session fetches only what the player asks for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO

from flask import request, send_file
from werkzeug.datastructures import ContentRange
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wrappers import Response

from evidence_store.bucket import LayeredStore

CHUNK = 256 * 1024


def serve_object(store: LayeredStore, key: str, mimetype: str) -> Response:
    """The object's bytes (all, or the one range asked for). Raises FileNotFoundError when
    neither store has it, StoreError when only the unreachable bucket could."""
    local = store.local_path(key)
    if local is not None:
        return send_file(local, mimetype=mimetype, conditional=True, max_age=0)
    size = store.size(key)
    wanted = request.range.range_for_length(size) if request.range else None
    if request.range is not None and wanted is None:
        raise RequestedRangeNotSatisfiable(length=size)
    start, stop = wanted or (0, size)
    # Open before answering, so an unreachable bucket is a clean 503, not a broken stream.
    opened = contextlib.ExitStack()
    handle = opened.enter_context(store.open_range(key, start, stop - start))
    response = Response(
        _stream(handle),
        status=206 if wanted else 200,
        mimetype=mimetype,
    )  # not direct_passthrough: that would drop the close callback below
    response.content_length = stop - start
    if wanted:
        response.content_range = ContentRange("bytes", start, stop, size)
    response.accept_ranges = "bytes"
    response.cache_control.no_cache = True
    response.call_on_close(opened.close)
    return response


def _stream(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk
