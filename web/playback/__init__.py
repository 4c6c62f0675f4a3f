"""Serving sealed media to a browser: codecs and byte ranges."""

from web.playback.codecs import mime_type
from web.playback.ranges import serve_object

__all__ = ["mime_type", "serve_object"]
