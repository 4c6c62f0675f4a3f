"""A person's HTTP client for the site: cookies, the CSRF token of each form, and TLS that
trusts the installation's CA (as a browser of the installation does)."""

from __future__ import annotations

import http.cookiejar
import json
import queue
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.console import PASSWORD


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies to http://127.0.0.1 too, as browsers do for loopback addresses
    (a replica reached directly, behind nginx's back)."""

    def return_ok_secure(
        self, cookie: http.cookiejar.Cookie, request: urllib.request.Request
    ) -> bool:
        return cookie.secure is False or request.type == "https" or request.host.startswith("127.")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 302 itself is the answer


class WebUser:
    def __init__(self, ca_file: Path | None) -> None:
        """``ca_file``: the installation's CA, for https (None: the system's)."""
        self.jar = http.cookiejar.CookieJar(LoopbackIsSecure())
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        handlers = (
            urllib.request.HTTPCookieProcessor(self.jar),
            urllib.request.HTTPSHandler(context=context),
        )
        self.opener = urllib.request.build_opener(*handlers)
        self.direct = urllib.request.build_opener(*handlers, NoRedirects())

    def request(
        self,
        url: str,
        data: dict[str, str] | None = None,
        *,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
        follow: bool = True,
    ) -> tuple[int, str, str]:
        """(status, final URL, body) of a GET, or a POST of ``data`` (a form) or JSON; with
        ``follow=False`` a redirect is the answer, and the URL is its Location."""
        body = None
        sent = dict(headers or {})
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=body, headers=sent)
        opener = self.opener if follow else self.direct
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, response.url, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return (
                error.code,
                error.headers.get("Location", url),
                error.read().decode("utf-8", "replace"),
            )

    def csrf(self, url: str) -> str:
        _, _, page = self.request(url)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'name="csrf-token" content="([^"]+)"', page
        )
        assert found, page[:500]
        return found.group(1)

    def log_in(self, base: str, username: str, password: str = PASSWORD) -> str:
        """Log in at ``base``; returns the page it lands on."""
        token = self.csrf(f"{base}/login")
        status, landed, _ = self.request(
            f"{base}/login", {"username": username, "password": password, "csrf_token": token}
        )
        assert status == 200 and "/login" not in landed, (status, landed)
        return landed


class EventStream(threading.Thread):
    """An audience screen's event stream, read line by line into a queue."""

    def __init__(self, user: WebUser, url: str) -> None:
        super().__init__(daemon=True)
        self.response = user.opener.open(urllib.request.Request(url), timeout=60)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.start()

    def run(self) -> None:
        try:
            for raw in self.response:
                line = raw.decode()
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    event["received"] = time.perf_counter()  # for the benchmarks
                    self.events.put(event)
        except (OSError, ValueError, AttributeError):  # closed by the test
            pass

    def next_matching(self, wanted: Any, timeout: float = 30) -> dict[str, Any]:
        while True:
            event = self.events.get(timeout=timeout)
            if wanted(event):
                return event

    def close(self) -> None:
        self.response.close()
