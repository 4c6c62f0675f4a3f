"""The wall of rooms: every room of a supervisor's or an administrator's units with its
recorder's health, live without a reload (the NOC view)."""

from web.wall.views import blueprint

__all__ = ["blueprint"]
