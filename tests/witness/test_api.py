"""Every route of the witness has an explicit role rule, and each rule holds: public routes
answer anyone, the device route takes only a head signed by the device key it names, the
operators' route needs their token, and a route without a rule answers no one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from evidence_store import SessionView, TreeHead
from witness import ROUTE_RULES, WitnessIdentity, create_app
from witness.identity import PUBLIC_FILE
from witness.service import Witness

TOKEN = "operator-token-0123456789"
SESSION = "s-20261207T000000Z-0123abcd"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    identity = WitnessIdentity.load_or_create(tmp_path, name="test")
    witness = Witness.open(f"sqlite:///{tmp_path / 'w.db'}", identity)
    yield create_app(
        witness, public_key_pem=(tmp_path / PUBLIC_FILE).read_bytes(), token=TOKEN, max_bytes=65536
    )
    witness.close()


def test_every_route_has_a_rule(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert endpoints == set(ROUTE_RULES)


def test_public_routes_answer_anyone(app: Flask) -> None:
    client = app.test_client()
    head = TreeHead.parse(client.get("/sth").data, location="sth")
    assert head.tree_size == 0
    assert client.get("/sth/0").status_code == 200
    assert client.get("/sth/0/tsr").status_code == 404  # not stamped: said, not hidden
    assert b"PUBLIC KEY" in client.get("/key").data
    view = SessionView.parse(client.get(f"/sessions/{SESSION}").data, location="view")
    assert (view.links, view.seal, view.forks) == (0, None, [])
    assert client.get("/consistency?first=0&second=0").status_code == 400
    assert client.get("/sessions/not-a-session").status_code == 400


def test_the_device_route_takes_only_a_signed_head(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/submit", data="not json").status_code == 400
    refused = client.post("/submit", json={"session": SESSION})
    assert refused.status_code == 400 and refused.json is not None
    assert refused.json["error"]["code"] == "bad_request"


def test_the_operators_route_needs_their_token(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/alarms").status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * len(TOKEN)}
    assert client.get("/alarms", headers=wrong).status_code == 401
    right = client.get("/alarms", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200 and right.json == {"alarms": []}


def test_without_a_token_the_operators_route_is_closed(tmp_path: Path) -> None:
    identity = WitnessIdentity.load_or_create(tmp_path, name="test")
    witness = Witness.open(f"sqlite:///{tmp_path / 'w.db'}", identity)
    try:
        app = create_app(witness, public_key_pem=b"", token=None, max_bytes=65536)
        headers = {"Authorization": "Bearer "}
        assert app.test_client().get("/alarms", headers=headers).status_code == 401
    finally:
        witness.close()


def test_a_route_without_a_rule_answers_no_one(app: Flask) -> None:
    app.add_url_rule("/unruled", "unruled", lambda: "open")
    assert app.test_client().get("/unruled").status_code == 404
