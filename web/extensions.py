"""The Flask extensions, created once and bound to an app in ``create_app``."""

from __future__ import annotations

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def _client_key() -> str:
    """Per client address, and per application (several consoles may share a process)."""
    return f"{current_app.import_name}:{id(current_app.config)}:{get_remote_address()}"


# Counted in this process's memory: the console runs as one process.
limiter = Limiter(key_func=_client_key, storage_uri="memory://", default_limits=[])
