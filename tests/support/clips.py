"""Clips as a prosecutor makes them in the console, and what custody says of them."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from evidence_store.installation.data_dir import DataDir
from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from tests.support.console import (
    MEDIA,
    catalog_reporter,
    csrf_token,
    login,
)
from web.audit import custody_log

SECOND_US = 1_000_000


def record_long_session(
    data: DataDir, unit: str, segments: list[bytes], *, seal: bool = True
) -> str:
    """A session of len(segments) one-second segments (start at 0 s, 1 s, ...)."""
    writer = SessionWriter.start(
        data.store(create=True),
        data.signer(),
        SessionMetadata(
            case_number="VKS-7/2026",
            room="Phòng 2",
            unit=unit,
            accused=["Phạm Văn Dũng"],
            investigators=["Trần Thị B"],
        ),
        MEDIA,
        on_head=catalog_reporter(data).on_head,
    )
    try:
        for index, media in enumerate(segments):
            writer.inflight_path(index).write_bytes(media)
            writer.seal_segment(index, start_us=index * SECOND_US, duration_us=SECOND_US)
        if seal:
            writer.stop("kết thúc")
    finally:
        writer.close()
    return writer.session_id


def client_for(app: Flask, username: str) -> FlaskClient:
    """A logged-in client that reads the console in English (stable messages to assert)."""
    client = app.test_client()
    login(client, username)
    client.get("/language/en")
    return client


def make_clip(
    client: FlaskClient,
    session_id: str,
    start: str,
    end: str,
    *,
    title: str = "Lời khai về thời điểm",
    number: str = "VC-1",
) -> tuple[int, str]:
    """Submit the new-clip form as a browser would; (status, redirect target or page)."""
    token = csrf_token(client, f"/clips/new?session_id={session_id}")
    response = client.post(
        "/clips/new",
        data={
            "csrf_token": token,
            "session_id": session_id,
            "title": title,
            "exhibit_number": number,
            "start": start,
            "end": end,
        },
    )
    if response.status_code == 302:
        return 302, response.location
    return response.status_code, response.get_data(as_text=True)


def clip_id_of(location: str) -> int:
    return int(location.rstrip("/").split("/")[-1])


def custody(app: Flask, action: str, session_id: str | None = None) -> list[dict[str, Any]]:
    with app.app_context():
        return [
            {"session_id": e.session_id, **e.detail}
            for e in custody_log().entries(action=action, session_id=session_id)
        ]
