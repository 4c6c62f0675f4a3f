"""Accounts as people use them in the console: forms sent with their CSRF token, logins that
keep their cookie, and a count of the argon2 verifications a login costs."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.console import PASSWORD, csrf_token
from web.audit import custody_log
from web.auth import passwords

ADMIN_PASSWORD = "cây bàng trước cổng 1975"


def send_form(
    client: FlaskClient, page: str, data: dict[str, Any], to: str | None = None
) -> TestResponse:
    """Open ``page``, then post ``data`` with the page's CSRF token to ``to`` (or back)."""
    token = csrf_token(client, page)
    return client.post(to or page, data={"csrf_token": token, **data})


def attempt_login(
    client: FlaskClient, username: str, password: str = PASSWORD, *, address: str = "127.0.0.1"
) -> TestResponse:
    """A login as a browser at ``address`` sends it."""
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def logged_in(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = attempt_login(client, username, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    client.get("/language/en")
    return client


def flashes(response: TestResponse) -> list[str]:
    """The messages a page shows (flash paragraphs), as text."""
    page = response.get_data(as_text=True)
    return [
        html.unescape(re.sub(r"<[^>]+>", "", m))
        for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]


def events(app: Flask, action: str) -> list[Any]:
    with app.app_context():
        return list(custody_log().entries(action=action))


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting its verifications."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def argon2_count(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    """Every argon2 verification the console makes, counted (the real work still runs)."""
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "hasher", counting)
    passwords._stand_in_hash.cache_clear()
    yield counting
    passwords._stand_in_hash.cache_clear()
