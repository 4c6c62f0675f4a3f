"""``sealroom recorder serve``: one room's recorder behind a small authenticated control API.

    POST /sessions          start, with the session's metadata           201 status
    POST /session/pause     {"reason": …}                                200 status
    POST /session/resume    {"reason": …}                                200 status
    POST /session/stop      {"reason": …}                                200 outcome
    GET  /status                                                         200 status
    GET  /preview.jpg       the last recorded picture                    200 image/jpeg
    GET  /audio-level       the last 20 ms of sound, in dBFS             200

``recorder.cli.serve`` runs it. Every request needs ``Authorization: Bearer <token>``; the
token comes from the file named by ``[recorder.service] token_file`` or from
``$SEALROOM_RECORDER_TOKEN``, never from a default.
Errors are JSON ``{"error": {"code", "message"}}`` with the matching status: 400 bad request
(a missing reason among them), 401 no or wrong token, 409 not possible in the current state,
503 a required device is missing, 507 not enough disk space. ``recorder.control.client`` speaks it.
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import TypeVar

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from evidence_store import SealroomError, UsageError
from recorder.control import ErrorBody, ErrorResponse, ReasonRequest, StartRequest
from recorder.disk_guard import InsufficientSpaceError
from recorder.errors import RecorderStateError
from recorder.preflight import DeviceMissingError
from recorder.service.room import RoomService
from recorder.settings import RecorderServiceSettings

log = logging.getLogger("sealroom.recorder")

TOKEN_ENV = "SEALROOM_RECORDER_TOKEN"  # noqa: S105 -- the variable's name, not a secret
MIN_TOKEN_LENGTH = 16
MAX_REQUEST_BYTES = 64 * 1024
M = TypeVar("M", bound=BaseModel)


def read_token(settings: RecorderServiceSettings) -> str:
    """The control API's bearer token: from the configured file, else the environment.
    There is no default: without a token the service does not start."""
    if settings.token_file is not None:
        try:
            token = settings.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(
                f"cannot read the recorder token file {settings.token_file}: {exc.strerror}"
            ) from exc
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise UsageError(
            f"the recorder service needs a control token of at least {MIN_TOKEN_LENGTH} "
            f"characters: set ${TOKEN_ENV} or [recorder.service] token_file"
        )
    return token


def create_app(service: RoomService, token: str) -> Flask:
    """The control API of ``service``, accepting only ``token``."""
    app = Flask("recorder.service.api")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    expected = token.encode()

    @app.before_request
    def authenticate() -> Response | None:
        scheme, _, provided = request.headers.get("Authorization", "").partition(" ")
        # compare_digest: the time taken does not tell how much of a guess was right.
        if scheme.lower() == "bearer" and hmac.compare_digest(provided.strip().encode(), expected):
            return None
        response = _error(401, "unauthorized", "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="sealroom-recorder"'
        return response

    @app.post("/sessions")
    def start() -> tuple[Response, int]:
        started = service.start(_body(StartRequest))
        return jsonify(started.as_dict()), 201

    @app.post("/session/pause")
    def pause() -> Response:
        return jsonify(service.pause(_reason()).as_dict())

    @app.post("/session/resume")
    def resume() -> Response:
        return jsonify(service.resume(_reason()).as_dict())

    @app.post("/session/stop")
    def stop() -> Response:
        return jsonify(service.stop(_reason()).as_dict())

    @app.get("/status")
    def status() -> Response:
        return jsonify(service.status().as_dict())

    @app.get("/preview.jpg")
    def preview() -> Response:
        return Response(
            service.preview_jpeg(), mimetype="image/jpeg", headers={"Cache-Control": "no-store"}
        )

    @app.get("/audio-level")
    def audio_level() -> Response:
        return jsonify(service.audio_level().as_dict())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error(exc.code or 500, code, exc.description or code)

    @app.errorhandler(SealroomError)
    def refused(exc: SealroomError) -> Response:
        return _error(*_classify(exc), str(exc))

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> Response:
        log.exception("the recorder service failed a request")
        return _error(500, "internal", f"internal error: {type(exc).__name__}")

    return app


class _BadRequest(UsageError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _body(model: type[M]) -> M:
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        raise _BadRequest("invalid_json", "the request body must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _BadRequest("invalid_request", f"{where}: {first['msg']}") from exc


def _reason() -> str:
    try:
        return _body(ReasonRequest).reason
    except _BadRequest as exc:
        raise _BadRequest(
            "reason_required", "a reason is required: it is recorded in the session's chain"
        ) from exc


def _classify(exc: SealroomError) -> tuple[int, str]:
    if isinstance(exc, _BadRequest):
        return 400, exc.code
    if isinstance(exc, InsufficientSpaceError):
        return 507, "insufficient_space"
    if isinstance(exc, DeviceMissingError):
        return 503, "device_missing"
    if isinstance(exc, RecorderStateError):
        return 409, "conflict"
    if isinstance(exc, UsageError):
        return 400, "invalid_request"
    return 500, "recording_failed"


def _error(status: int, code: str, message: str) -> Response:
    body = ErrorResponse(error=ErrorBody(code=code, message=message))
    response = jsonify(body.as_dict())
    response.status_code = status
    return response
