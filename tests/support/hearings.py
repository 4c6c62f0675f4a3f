"""Hearings and exhibit lists as a clerk builds them in the console."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.console import csrf_token
from web.extensions import db
from web.models import HearingExhibit


def post_json(client: FlaskClient, url: str, body: object) -> TestResponse:
    token = csrf_token(client, "/hearings/")
    return client.post(
        url, data=json.dumps(body), content_type="application/json", headers={"X-CSRFToken": token}
    )


def new_hearing(client: FlaskClient, case: str = "VKS-7/2026", date: str = "2026-04-01") -> int:
    token = csrf_token(client, "/hearings/")
    response = client.post(
        "/hearings/",
        data={
            "csrf_token": token,
            "case_number": case,
            "court": "TAND TP Hà Nội",
            "hearing_date": date,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.location.rstrip("/").split("/")[-1])


def add_exhibit(
    client: FlaskClient, hearing_id: int, item: str, number: str = "", *, other_case: bool = False
) -> TestResponse:
    """``other_case``: the box ticked that confirms a clip of another case than the hearing's."""
    url = f"/hearings/{hearing_id}"
    token = csrf_token(client, url)
    data = {"csrf_token": token, "item": item, "exhibit_number": number}
    if other_case:
        data["other_case"] = "y"
    return client.post(f"{url}/exhibits", data=data)


def exhibit_ids(app: Flask, hearing_id: int) -> list[int]:
    with app.app_context():
        rows = db.session.query(HearingExhibit).filter_by(hearing_id=hearing_id)
        return [e.id for e in rows.order_by(HearingExhibit.position)]
