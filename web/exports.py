"""Export packages asked for, approved and downloaded in the console."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("exports", __name__, url_prefix="/exports")
