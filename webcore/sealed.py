"""The HTTP end of a sealed protocol request (``protocol.envelope``), for every API that takes
one: the portal's sync and GitLab.com trial APIs, GitLab.com's provisioning API.

Rules:
- The body is ``{"request": "<JWS>"}``; anything else is the peer's error (400).
- A request that fails a protocol check keeps nothing it did, not even its claimed nonce, and
  is answered unsigned: 401 for a bad signature, 409 for a replayed nonce, 400 otherwise.
- A verified request is answered ``{"response": "<JWS>"}`` sealed with the server's key and
  echoing the request's nonce, refusals included.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from protocol.clock import Clock
from protocol.envelope import seal_response
from protocol.errors import InvalidSignature, RemoteProtocolError, ReplayedMessage
from protocol.messages import ErrorAnswer, Message
from protocol.signing import SigningKey
from webcore.transaction import discard_changes


def request_token() -> str:
    """The sealed request in the body, or RemoteProtocolError."""
    data: Any = request.get_json(silent=True)
    token = data.get("request") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise RemoteProtocolError('expected a JSON body {"request": "<JWS>"}', field="request")
    return token


def unverified(error: RemoteProtocolError, log: logging.Logger) -> ResponseReturnValue:
    """A request that failed a check: keep nothing it did (not even a nonce), answer unsigned."""
    discard_changes()
    status = (
        401
        if isinstance(error, InvalidSignature)
        else 409
        if isinstance(error, ReplayedMessage)
        else 400
    )
    log.info("refused a %s request: %s", request.path, error.error_code)
    return jsonify({"error": ErrorAnswer.from_error(error).to_dict()}), status


def sealed(
    message: Message, key: SigningKey, clock: Clock, nonce: str, status: int = 200
) -> ResponseReturnValue:
    """`message` sealed with the server's `key`, answering the request whose nonce is `nonce`."""
    return jsonify({"response": seal_response(message, key, clock, nonce)}), status
