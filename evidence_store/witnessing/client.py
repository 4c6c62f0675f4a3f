"""Talking to the off-box witness over HTTP (``witness.api``), with a timeout on every request:
a witness that is down or slow costs a bounded wait, on the sender's thread, never a
recorder's.

Standard library only (``urllib``): the appliance needs no other HTTP client for this.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from evidence_store.errors import SealroomError, UsageError

DEFAULT_TIMEOUT = 5.0
MAX_ANSWER = 4 * 1024 * 1024


class WitnessUnavailable(SealroomError):
    """The witness did not answer (down, unreachable, too slow) or failed (5xx)."""


class WitnessClient:
    """One witness, at ``url`` (http or https)."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise UsageError(f"the witness URL must be http(s)://host[:port], not {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def submit(self, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /submit; the status and the JSON answer (4xx included, as an answer)."""
        status, body = self._request("POST", "/submit", json.dumps(document).encode())
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise WitnessUnavailable(f"{self.url} answered {status} with no JSON") from exc
        if not isinstance(answer, dict):
            raise WitnessUnavailable(f"{self.url} answered {status} with JSON that is no object")
        return status, answer

    def session_view(self, session_id: str, nonce: str | None = None) -> bytes:
        """GET /sessions/<id>: what the witness holds of a session, signed (with ``nonce``)."""
        path = f"/sessions/{urllib.parse.quote(session_id)}"
        if nonce is not None:
            path += "?" + urllib.parse.urlencode({"nonce": nonce})
        return self._ok(*self._request("GET", path))

    def tree_head(self, size: int | None = None) -> bytes:
        """GET /sth (the newest) or /sth/<size>."""
        return self._ok(*self._request("GET", "/sth" if size is None else f"/sth/{size}"))

    def consistency(self, first: int, second: int) -> list[bytes]:
        query = urllib.parse.urlencode({"first": first, "second": second})
        answer = json.loads(self._ok(*self._request("GET", f"/consistency?{query}")))
        return [bytes.fromhex(item) for item in answer["proof"]]

    def public_key_pem(self) -> bytes:
        return self._ok(*self._request("GET", "/key"))

    def _ok(self, status: int, body: bytes) -> bytes:
        if status != 200:
            try:
                message = json.loads(body)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = body[:200].decode("utf-8", "replace")
            raise WitnessUnavailable(f"{self.url} answered {status}: {message}")
        return body

    def _request(self, method: str, path: str, data: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 -- the scheme is checked in __init__
            self.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, response.read(MAX_ANSWER)
        except urllib.error.HTTPError as error:
            body = error.read(MAX_ANSWER)
            if error.code >= 500:
                raise WitnessUnavailable(f"{self.url} failed ({error.code})") from error
            return error.code, body
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WitnessUnavailable(f"{self.url} is unreachable: {reason}") from exc
