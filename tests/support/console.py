"""A console with units, users of every role, a room and sessions, for the web tests."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from evidence_store.bucket import RetentionPolicy
from evidence_store.index import CatalogReporter, catalog_outbox, catalog_sender, reconcile
from evidence_store.installation.data_dir import DataDir
from evidence_store.model import MediaInfo, SessionMetadata
from evidence_store.outbox import OutboxSender
from evidence_store.session import SessionWriter
from evidence_store.settings import CatalogSettings
from web.app import create_app
from web.auth.accounts import create_unit, create_user
from web.evidence import INDEX_KEY, LOCAL_STORE_KEY
from web.extensions import db
from web.models import Room, Unit
from web.roles import Role
from web.settings import ConsoleSettings

PASSWORD = "correct horse battery staple"
MEDIA = MediaInfo(width=320, height=240, fps=15, sample_rate=48000, channels=1, segment_seconds=1)


@dataclass(frozen=True)
class Console:
    app: Flask
    data: DataDir
    own_session: str  # recorded in unit hanoi-bd, below hanoi
    other_session: str  # recorded in unit danang, sideways from hanoi


_SENDERS: dict[tuple[Path, str], OutboxSender] = {}


def catalog_reporter(data: DataDir) -> CatalogReporter:
    """What a room's recorder reports through, delivering each event at once into the
    installation's own catalog (the one its console reads), as `sealroom run` does."""
    key = (data.root, data.index_url())
    if key not in _SENDERS:
        policy = RetentionPolicy(data.settings.s3.retention)
        _SENDERS[key] = catalog_sender(
            data.root, CatalogSettings(), data.index_url(), policy=policy
        )
    sender = _SENDERS[key]

    def deliver_now() -> None:
        sender.drain_once()

    return CatalogReporter(catalog_outbox(data.root), wake=deliver_now)


def record_session(
    data: DataDir, unit: str, case: str, segment: bytes, *, report: bool = True
) -> str:
    """A sealed one-segment session, reported to the catalog as a room reports it (unless
    ``report`` is False: then only reconcile will find it)."""
    store = data.store(create=True)
    writer = SessionWriter.start(
        store,
        data.signer(),
        SessionMetadata(
            case_number=case,
            room="Phòng 1",
            unit=unit,
            accused=["Nguyễn Văn A"],
            investigators=["Trần Thị B"],
        ),
        MEDIA,
        on_head=catalog_reporter(data).on_head if report else None,
    )
    writer.inflight_path(0).write_bytes(segment)
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    writer.pause("nghỉ giải lao")
    writer.resume("tiếp tục")
    writer.stop("kết thúc")
    return writer.session_id


def build_console(
    root: Path,
    *,
    secure_cookies: bool = False,
    segment: bytes | None = None,
    recorder_url: str = "http://127.0.0.1:9",
    settings: ConsoleSettings | None = None,
) -> Console:
    """Units supreme > hanoi > hanoi-bd and supreme > danang; a user of every role in hanoi
    (named after the role) and ``investigator-danang``; room ``room1`` of hanoi; one sealed
    session in hanoi-bd and one in danang."""
    data = DataDir.resolve(root)
    settings = settings or ConsoleSettings()
    app = create_app(data, settings.model_copy(update={"secure_cookies": secure_cookies}))
    with app.app_context():
        create_unit("hanoi", parent="supreme")
        create_unit("hanoi-bd", parent="hanoi")
        create_unit("danang", parent="supreme")
        for role in Role:
            create_user(
                role.value.replace("_", "-"), role=role.value, unit="hanoi", password=PASSWORD
            )
        create_user("investigator-danang", role="investigator", unit="danang", password=PASSWORD)
        hanoi = db.session.query(Unit).filter_by(code="hanoi").one()
        db.session.add(Room(code="room1", name="Phòng 1", unit=hanoi, recorder_url=recorder_url))
        db.session.commit()
    media = segment or os.urandom(2048)
    own = record_session(data, "hanoi-bd", "VKS-1/2026", media)
    other = record_session(data, "danang", "VKS-2/2026", media)
    return Console(app, data, own, other)


def catalogue(app: Flask, *, witnessing: bool = False) -> None:
    """Bring the console's catalog up to its store, as the worker's reconcile does (the
    sessions here are written straight into the store, without a room to report them)."""
    report = reconcile(
        app.extensions[INDEX_KEY], app.extensions[LOCAL_STORE_KEY], None, witnessing=witnessing
    )
    assert not report.failed, report.failed


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token of the form on ``url``, as a browser would submit it."""
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return match.group(1) if match else ""  # no field when a test turned CSRF off


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def username_for(role: Role) -> str:
    return role.value.replace("_", "-")
