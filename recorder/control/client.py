"""A client for a room's recorder service, for the web console's room terminal.

It imports nothing of the recording pipeline (no ``av``, ``cv2`` or ``hardware``): only the
standard library, pydantic and the wire models. Every failure is an exception a person can
read; a recorder that cannot be reached raises ``RecorderUnreachableError`` so the console
says "not recording", never shows a recording that may not be happening.

Identity before anything is sent: over ``https://`` the connection is made, the recorder's
certificate is checked against the installation's CA and must name the room being
addressed (``RecorderIdentity``), and only then does the request (with the room's token) go
out. A recorder that cannot prove it is that room gets nothing, and is treated as
unreachable. Plain ``http://`` is accepted only on the loopback interface (tests, and a
recorder beside its console), never across a network.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography import x509
from pydantic import BaseModel, ValidationError

from evidence_store.installation import rooms_named
from recorder.control.models import (
    AudioLevel,
    ErrorResponse,
    RecorderStatusView,
    SessionOutcome,
    StartRequest,
)
from recorder.errors import RecorderError

Model = TypeVar("Model", bound=BaseModel)


class RecorderClientError(RecorderError):
    """The recorder service could not carry out a request."""


class RecorderUnreachableError(RecorderClientError):
    """No answer from the recorder service (down, wrong address, network): nothing is known
    about the room, in particular not that it is recording."""


class RecorderIdentityError(RecorderUnreachableError):
    """The recorder could not prove it is the room addressed (no certificate from the
    installation's CA naming that room): nothing was sent to it."""


class RecorderAuthError(RecorderClientError):
    """The service refused the token (401)."""


class RecorderRefusedError(RecorderClientError):
    """The service understood the request and refused it (state, missing reason, no disk
    space, missing device): ``status`` is the HTTP status, ``code`` the API's error code."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class RecorderIdentity:
    """Who must answer at a recorder's ``https://`` address: a certificate issued by the CA in
    ``ca_file`` that names ``room``."""

    room: str
    ca_file: Path


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback interface (by name or address)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve anywhere


class RecorderClient:
    """Controls one room's recorder service at ``base_url`` (``https://room-1.lan:8750``;
    ``http://`` only on loopback)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 5.0,
        *,
        identity: RecorderIdentity | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RecorderClientError(f"recorder URL must be https://host:port, got {base_url!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise RecorderClientError(
                f"the recorder at {base_url} is reached over TLS only: register its https:// "
                "address (plain http is for the loopback interface)"
            )
        if parts.scheme == "https" and identity is None:
            raise RecorderClientError(
                f"the recorder at {base_url} cannot be checked: no CA to check it against"
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._parts = parts
        self._identity = identity

    def start(
        self,
        *,
        case_number: str,
        room: str | None = None,
        unit: str | None = None,
        accused: list[str] | None = None,
        investigators: list[str] | None = None,
        others_present: list[dict[str, str]] | None = None,
    ) -> RecorderStatusView:
        """Start a session; returns the status, with the new ``session_id``."""
        try:
            request = StartRequest.model_validate(
                {
                    "case_number": case_number,
                    "room": room,
                    "unit": unit,
                    "accused": accused or [],
                    "investigators": investigators or [],
                    "others_present": others_present or [],
                }
            )
        except ValidationError as exc:
            raise RecorderClientError(f"invalid session details: {exc.errors()[0]['msg']}") from exc
        return self._call("POST", "/sessions", RecorderStatusView, request.as_dict())

    def pause(self, reason: str) -> RecorderStatusView:
        return self._call("POST", "/session/pause", RecorderStatusView, {"reason": reason})

    def resume(self, reason: str) -> RecorderStatusView:
        return self._call("POST", "/session/resume", RecorderStatusView, {"reason": reason})

    def stop(self, reason: str) -> SessionOutcome:
        """Stop the session; returns how it ended (its id, segments and chain head)."""
        return self._call("POST", "/session/stop", SessionOutcome, {"reason": reason})

    def status(self) -> RecorderStatusView:
        return self._call("GET", "/status", RecorderStatusView)

    def audio_level(self) -> AudioLevel:
        return self._call("GET", "/audio-level", AudioLevel)

    def preview_jpeg(self) -> bytes:
        """The latest recorded picture as JPEG bytes."""
        body, content_type = self._request("GET", "/preview.jpg", None)
        if content_type != "image/jpeg":
            raise RecorderClientError(f"the recorder sent {content_type}, not a JPEG")
        return body

    # -- internals ---------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, model: type[Model], payload: dict[str, Any] | None = None
    ) -> Model:
        body, _ = self._request(method, path, payload)
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise RecorderClientError(
                f"unexpected answer from the recorder at {self.base_url}{path}"
            ) from exc

    def _connect(self) -> http.client.HTTPConnection:
        """A connection to the recorder, its identity proven (over TLS) before it is used."""
        host, port = self._parts.hostname or "", self._parts.port
        if self._identity is None:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            connection.connect()
            return connection
        try:
            context = ssl.create_default_context(cafile=str(self._identity.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise RecorderIdentityError(
                f"the installation's CA {self._identity.ca_file} cannot be read, so the "
                f"recorder at {self.base_url} cannot be checked: nothing was sent to it"
            ) from exc
        # The address may change (a room moves, DHCP); what is checked is the room the
        # certificate names, below, on top of the chain to the installation's CA.
        context.check_hostname = False
        secure = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
        try:
            secure.connect()
        except ssl.SSLError as exc:
            secure.close()
            raise RecorderIdentityError(
                f"the recorder at {self.base_url} has no certificate from this installation's "
                f"CA ({exc.reason or exc}): nothing was sent to it"
            ) from exc
        der = secure.sock.getpeercert(binary_form=True) if secure.sock else None
        named = rooms_named(x509.load_der_x509_certificate(der)) if der else []
        if self._identity.room not in named:
            secure.close()
            raise RecorderIdentityError(
                f"the recorder at {self.base_url} is not room {self._identity.room!r} "
                f"(its certificate names {', '.join(map(repr, named)) or 'no room'}): "
                "nothing was sent to it"
            )
        return secure

    def _request(self, method: str, path: str, payload: dict[str, Any] | None) -> tuple[bytes, str]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection = self._connect()
        except RecorderIdentityError:
            raise
        except (OSError, HTTPException) as exc:
            raise RecorderUnreachableError(
                f"the recorder at {self.base_url} cannot be reached: {exc}"
            ) from exc
        try:
            connection.request(method, self._parts.path.rstrip("/") + path, data, headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, HTTPException) as exc:
            raise RecorderUnreachableError(
                f"the recorder at {self.base_url} cannot be reached: {exc}"
            ) from exc
        finally:
            connection.close()
        if response.status >= 400:
            raise self._refusal(response.status, response.reason, body)
        return body, response.headers.get_content_type()

    def _refusal(self, status: int, reason: str, body: bytes) -> RecorderClientError:
        try:
            error = ErrorResponse.model_validate_json(body).error
            message, code = error.message, error.code
        except ValidationError:
            message, code = f"HTTP {status} {reason}", "http_error"
        if status == 401:
            return RecorderAuthError(f"the recorder refused the token: {message}")
        return RecorderRefusedError(message, status=status, code=code)
