"""``sealroom recorder serve``: one room's recorder behind a small authenticated control API.

    POST /sessions          start, with the session's metadata           201 status
    POST /session/pause     {"reason": …}                                200 status
    POST /session/resume    {"reason": …}                                200 status
    POST /session/stop      {"reason": …}                                200 outcome
    GET  /status                                                         200 status
    GET  /preview.jpg       the last recorded picture                    200 image/jpeg
    GET  /audio-level       the last 20 ms of sound, in dBFS             200

Every request needs ``Authorization: Bearer <token>``; the token comes from the file named by
``[recorder.service.api] token_file`` or from ``$SEALROOM_RECORDER_TOKEN``, never from a default.
Errors are JSON ``{"error": {"code", "message"}}`` with the matching status: 400 bad request
(a missing reason among them), 401 no or wrong token, 409 not possible in the current state,
503 a required device is missing, 507 not enough disk space. ``recorder.client`` speaks it.
"""

from __future__ import annotations

import hmac
import logging
import os
import signal
import types
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import waitress
from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from evidence_store.cli.evidence import data_dir_from, data_dir_option
from evidence_store.errors import SealroomError, UsageError
from recorder.cli.recover import describe
from recorder.disk_guard import InsufficientSpaceError
from recorder.errors import RecorderStateError
from recorder.preflight import DeviceMissingError
from recorder.room.profile import RoomProfile
from recorder.service.models import ErrorBody, ErrorResponse, ReasonRequest, StartRequest
from recorder.service.room import RoomService
from recorder.settings import RecorderServiceSettings, RecorderSettings

log = logging.getLogger("sealroom.recorder")

SETTINGS_KEY = "sealroom.recorder"  # where the root command puts [recorder] (recorder.cli.record)
ROOMS_KEY = "sealroom.rooms"  # and the [rooms.<name>] profiles
TOKEN_ENV = "SEALROOM_RECORDER_TOKEN"  # noqa: S105 -- the variable's name, not a secret
MIN_TOKEN_LENGTH = 16
MAX_REQUEST_BYTES = 64 * 1024
SERVER_THREADS = 4  # the terminal polls status, preview and level while a request runs
SHUTDOWN_REASON = "the recorder service was shut down while recording"
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
            f"characters: set ${TOKEN_ENV} or [recorder.service.api] token_file"
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


class _Shutdown(Exception):
    """SIGTERM or SIGINT: stop the session in progress and leave."""


def _shut_down(signum: int, _frame: types.FrameType | None) -> NoReturn:
    raise _Shutdown(signal.Signals(signum).name)


@click.group("recorder")
def recorder_group() -> None:
    """The room's recorder service."""


@recorder_group.command()
@click.option("--room", required=True, help="The room this service records, e.g. P1-VKS-HaNoi.")
@click.option("--host", default=None, help="Address to listen on (default from config: 127.0.0.1).")
@click.option(
    "--port",
    type=int,
    default=None,
    help="Port (default from config: 8750; 0: any free port, printed at start).",
)
@click.option(
    "--synthetic",
    is_flag=True,
    help="Record the synthetic room instead of the room profile's devices.",
)
@data_dir_option
@click.pass_context
def serve(
    ctx: click.Context,
    room: str,
    host: str | None,
    port: int | None,
    synthetic: bool,
    data_dir: Path | None,
) -> None:
    """Serve one room: recover what a dead recorder left, then take control requests."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings: RecorderSettings = ctx.meta.get(SETTINGS_KEY) or RecorderSettings()
    token = read_token(settings.service)
    rooms: dict[str, RoomProfile] = ctx.meta.get(ROOMS_KEY) or {}
    profile = None if synthetic else rooms.get(room)
    if profile is None and not synthetic:
        click.echo(
            f"sealroom: room {room} has no profile in the configuration: recording "
            "the synthetic room",
            err=True,
        )
    service = RoomService(
        data=data_dir_from(ctx, data_dir), settings=settings, room=room, profile=profile
    )
    for line in describe(service.open()):
        click.echo(f"sealroom: recovery: {line}", err=True)
    previous = {sig: signal.signal(sig, _shut_down) for sig in (signal.SIGTERM, signal.SIGINT)}
    server: Any = None
    try:
        server = waitress.create_server(
            create_app(service, token),
            host=host or settings.service.host,
            port=settings.service.port if port is None else port,
            threads=SERVER_THREADS,
            ident="sealroom-recorder",
        )
        click.echo(
            f"recorder service for room {room} listening on "
            f"http://{server.effective_host}:{server.effective_port}"
        )
        server.run()
    except _Shutdown as signalled:
        log.info("%s: shutting down", signalled)
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc.strerror or exc}") from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.close()
        service.close(SHUTDOWN_REASON)


COMMANDS = [recorder_group]
