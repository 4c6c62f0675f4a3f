"""A client for a room's recorder service, for the web console's room terminal.

It imports nothing of the recording pipeline (no ``av``, ``cv2`` or ``hardware``): only the
standard library, pydantic and the wire models. Every failure is an exception a person can
read; a recorder that cannot be reached raises ``RecorderUnreachableError`` so the console
says "not recording", never shows a recording that may not be happening.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.client import HTTPException
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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


class RecorderAuthError(RecorderClientError):
    """The service refused the token (401)."""


class RecorderRefusedError(RecorderClientError):
    """The service understood the request and refused it (state, missing reason, no disk
    space, missing device): ``status`` is the HTTP status, ``code`` the API's error code."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RecorderClient:
    """Controls one room's recorder service at ``base_url`` (e.g. ``http://127.0.0.1:8750``)."""

    def __init__(self, base_url: str, token: str, timeout: float = 5.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise RecorderClientError(f"recorder URL must be http(s)://…, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token

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

    def _request(self, method: str, path: str, payload: dict[str, Any] | None) -> tuple[bytes, str]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 -- the scheme is checked in __init__
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc) from None
        except (urllib.error.URLError, OSError, HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise RecorderUnreachableError(
                f"the recorder at {self.base_url} cannot be reached: {reason}"
            ) from exc

    def _refusal(self, exc: urllib.error.HTTPError) -> RecorderClientError:
        try:
            body = exc.read()
        except (OSError, HTTPException):
            body = b""
        try:
            error = ErrorResponse.model_validate_json(body).error
            message, code = error.message, error.code
        except ValidationError:
            message, code = f"HTTP {exc.code} {exc.reason}", "http_error"
        if exc.code == 401:
            return RecorderAuthError(f"the recorder refused the token: {message}")
        return RecorderRefusedError(message, status=exc.code, code=code)
