"""The room terminal (a kiosk for the investigator) and the seal sheet."""

from web.terminal.views import blueprint

__all__ = ["blueprint"]
