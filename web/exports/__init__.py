"""Export packages asked for, approved, built in the background and downloaded."""

from web.exports.views import blueprint

__all__ = ["blueprint"]
