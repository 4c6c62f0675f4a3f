"""The witness's HTTP API. Every route has an explicit role rule (``ROUTE_RULES``); a route
without one is refused to everyone.

    GET  /sth                   the newest signed tree head             public
    GET  /sth/<size>            a tree head it issued                   public
    GET  /sth/<size>/tsr        its RFC 3161 time-stamp token (DER)     public
    GET  /consistency?first=&second=  the proof between two heads        public
    GET  /key                   the witness's public key (PEM)          public
    GET  /sessions/<id>?nonce=  what it holds of a session, signed with
                                the asker's nonce and its newest head   public
    POST /submit                one signed chain head                   device
    GET  /alarms                forks and refused enrolments            operator

*public*: what anyone checking evidence needs; it is signed, or a proof, so serving it to
anyone gives nothing away but the existence of sessions (whose ids are unguessable).
*device*: authenticated by the device's own key, whose signature over the submitted head
is checked before anything is written (and pinned at enrolment: ``witness.enrolment``).
*operator*: ``Authorization: Bearer <token>`` (``[witness] token_file`` or
``$SEALROOM_WITNESS_TOKEN``); without a configured token the route refuses everyone.

Errors are JSON ``{"error": {"code", "message"}}``: 400 malformed, 401 no or wrong token,
403 a signature or device refused, 404 unknown, 409 a gap (with ``expected_seq``) or a fork
(with the fork's receipt), 413 too large.
"""

from __future__ import annotations

import hmac
import re
from typing import Literal

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from evidence_store import UsageError, check_session_id
from witness.service import Outcome, Witness
from witness.submissions import BadSubmission, SignatureRefused, read_submission

Role = Literal["public", "device", "operator"]
ROUTE_RULES: dict[str, Role] = {
    "tree_head": "public",
    "tree_head_at": "public",
    "tree_head_stamp": "public",
    "consistency": "public",
    "witness_key": "public",
    "session": "public",
    "submit": "device",
    "alarms": "operator",
}
NONCE = re.compile(r"[0-9a-f]{32,128}")
STATUS = {"accepted": 200, "held": 200, "gap": 409, "fork": 409, "refused": 403}


def create_app(
    witness: Witness, *, public_key_pem: bytes, token: str | None, max_bytes: int
) -> Flask:
    """The API of ``witness``; ``token`` opens the operators' routes (None: closed)."""
    app = Flask("witness.api")
    app.config["MAX_CONTENT_LENGTH"] = max_bytes

    @app.before_request
    def apply_rule() -> Response | None:
        rule = ROUTE_RULES.get(request.endpoint or "")
        if rule is None:
            return _error(404, "not_found", "no such route")
        if rule == "operator" and not _operator(token):
            response = _error(401, "unauthorized", "an operator's bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="sealroom-witness"'
            return response
        return None  # public, or device: the signature in the body is checked by the route

    @app.get("/sth")
    def tree_head() -> Response:
        return _json_bytes(witness.tree_head())

    @app.get("/sth/<int:size>")
    def tree_head_at(size: int) -> Response:
        return _json_bytes(witness.tree_head(size))

    @app.get("/sth/<int:size>/tsr")
    def tree_head_stamp(size: int) -> Response:
        token_der = witness.stamp_of(size)
        if token_der is None:
            return _error(404, "not_found", f"tree head {size} has no time-stamp (yet)")
        return Response(token_der, mimetype="application/timestamp-reply")

    @app.get("/consistency")
    def consistency() -> Response:
        try:
            first = int(request.args.get("first", ""))
            second = int(request.args.get("second", ""))
            proof = witness.consistency(first, second)
        except ValueError as exc:
            return _error(400, "bad_request", f"first and second must be tree sizes: {exc}")
        return jsonify({"first": first, "second": second, "proof": [p.hex() for p in proof]})

    @app.get("/key")
    def witness_key() -> Response:
        return Response(public_key_pem, mimetype="application/x-pem-file")

    @app.get("/sessions/<session_id>")
    def session(session_id: str) -> Response:
        try:
            check_session_id(session_id)
        except UsageError as exc:
            return _error(400, "bad_request", str(exc))
        nonce = request.args.get("nonce")
        if nonce is not None and not NONCE.fullmatch(nonce):
            return _error(400, "bad_request", "the nonce must be 32 to 128 lowercase hex digits")
        return Response(witness.session_view(session_id, nonce), mimetype="application/json")

    @app.post("/submit")
    def submit() -> tuple[Response, int]:
        document = request.get_json(silent=True)
        if document is None:
            return _error(400, "bad_request", "the body must be a JSON submission"), 400
        try:
            submission = read_submission(document)
        except BadSubmission as exc:
            return _error(400, "bad_request", str(exc)), 400
        except SignatureRefused as exc:
            return _error(403, "signature_refused", str(exc)), 403
        outcome: Outcome = witness.submit(submission)
        return jsonify(outcome.as_dict()), STATUS[outcome.status]

    @app.get("/alarms")
    def alarms() -> Response:
        return jsonify({"alarms": witness.alarms()})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error(exc.code or 500, code, exc.description or code)

    return app


def _operator(token: str | None) -> bool:
    if token is None:
        return False
    scheme, _, provided = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken does not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        provided.strip().encode(), token.encode()
    )


def _json_bytes(document: bytes | None) -> Response:
    if document is None:
        return _error(404, "not_found", "no such tree head")
    return Response(document, mimetype="application/json")


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response
