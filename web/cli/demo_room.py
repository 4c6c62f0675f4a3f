"""The synthetic room of ``sealroom run``: its row in the console, its control token (derived
from the room key, like every room's), and its recorder service as a child process.

The service is started through the recorder package's own module entry
(``python -m recorder.cli``), not imported: the console may not load the capture pipeline
(docs/architecture.md), and encoding is CPU-bound, so it runs in a process of its own. The
configuration the shell loaded is handed to it on standard input, so it records and signs
with the same settings it would have under ``sealroom recorder serve``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from pydantic_core import to_jsonable_python
from sqlalchemy import select

from evidence_store.cli import BACKUP_DATABASES, DOCTOR_CHECKS
from evidence_store.installation import DataDir
from web.auth import unit_by_code
from web.extensions import db
from web.models import Room
from web.recorders import room_key, room_token
from web.settings import SETTINGS_KEY, ConsoleSettings

ROOM_CODE = "demo"
ROOM_NAME = "Phòng hỏi cung mô phỏng"
ROOM_UNIT = "supreme"  # the unit the synthetic room is registered to, here and in its recorder
RECORDER_ENTRY = "recorder.cli"  # the recorder package's module entry: its own commands
SECTION_PREFIX = "sealroom."  # how the shell names the configuration sections it loaded
NOT_HANDED_OVER = frozenset({SETTINGS_KEY, BACKUP_DATABASES, DOCTOR_CHECKS})
STOP_SECONDS = 30  # a stopped service seals the session in progress; then it is killed


def recorder_token(root: Path, settings: ConsoleSettings) -> str:
    """The synthetic room's own token, derived from the installation's room key as every
    room's is (``web.recorders``)."""
    return room_token(room_key(root, settings), ROOM_CODE)


def ensure_room(app: Flask, *, url: str) -> None:
    """The synthetic room, in the root unit, pointing at its recorder service."""
    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.code == ROOM_CODE))
        if room is None:
            db.session.add(
                Room(code=ROOM_CODE, name=ROOM_NAME, unit=unit_by_code(ROOM_UNIT), recorder_url=url)
            )
        else:
            room.recorder_url = url
        db.session.commit()


def recorder_sections(meta: dict[str, Any]) -> str:
    """The configuration the shell loaded, as JSON, but for what is the console's own (its
    section and the databases to back up may name a database with its password: the recorder
    has no use for them) and the doctor's checks (functions, not configuration)."""
    sections = {
        key: to_jsonable_python(value)
        for key, value in meta.items()
        if key.startswith(SECTION_PREFIX) and key not in NOT_HANDED_OVER
    }
    return json.dumps(sections, ensure_ascii=False)


def start_recorder(
    ctx: click.Context, data: DataDir, *, port: int, token: str
) -> subprocess.Popen[bytes]:
    """Start the synthetic room's recorder service on 127.0.0.1:``port``."""
    command = [
        sys.executable,
        "-m",
        RECORDER_ENTRY,
        "--settings-stdin",
        "recorder",
        "serve",
        "--room",
        ROOM_CODE,
        "--synthetic",
        "--unit",
        ROOM_UNIT,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data.root),
    ]
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        env={**os.environ, "SEALROOM_RECORDER_TOKEN": token},
        # Its own process group: Ctrl-C at the terminal reaches only `sealroom run`, which
        # then stops the service once, instead of both signalling it at the same time.
        process_group=0,
    )
    try:
        _hand_over(child, recorder_sections(ctx.meta))
        click.echo(f"recorder service for room {ROOM_CODE}: pid {child.pid}", err=True)
    except BaseException:  # even a signal: the caller would not have the child to stop
        stop_recorder(child)
        raise
    return child


def _hand_over(child: subprocess.Popen[bytes], settings: str) -> None:
    assert child.stdin is not None  # stdin=PIPE
    try:
        with child.stdin:
            child.stdin.write(settings.encode())
    except BrokenPipeError:
        pass  # it ended already, and said why on stderr


def stop_recorder(child: subprocess.Popen[bytes]) -> None:
    """Stop the service as SIGTERM does (it seals the session in progress) and wait for it;
    kill it if it does not end in time."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        click.echo(
            f"recorder service (pid {child.pid}) did not stop in {STOP_SECONDS} s: killed",
            err=True,
        )
        child.kill()
        child.wait()
