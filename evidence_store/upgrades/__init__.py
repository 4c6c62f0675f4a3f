"""Schema upgrades (alembic) of every database sealroom keeps: the custody log, the session
index, the console's and the witness's.

Alembic's migration context is a module-level proxy, so two threads of one process upgrading
at once (a room's catalog delivery thread opening the index while the recorder opens its
custody log) tear each other's context down ("No context has been configured yet"). Upgrades
take turns under one lock per process; they are short and run once per database opened.
"""

from __future__ import annotations

import threading

from alembic import command
from alembic.config import Config

_ONE_AT_A_TIME = threading.Lock()


def upgrade_to_head(config: Config) -> None:
    """``alembic upgrade head`` with ``config``, never beside another upgrade of this process."""
    with _ONE_AT_A_TIME:
        command.upgrade(config, "head")


__all__ = ["upgrade_to_head"]
