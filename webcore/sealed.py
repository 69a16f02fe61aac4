"""The HTTP end of a sealed protocol request (``protocol.envelope``), for every API that takes
one: the portal's sync and GitLab.com trial APIs, GitLab.com's provisioning API.

Rules:
- The body is ``{"request": "<JWS>"}``; anything else is the peer's error (400).
- A request about one GitLab.com namespace names it twice, in the path and in the body; they
  must agree, else the request fails a check ("names another namespace").
- A request that fails a protocol check keeps nothing it did, not even its claimed nonce, and
  is answered unsigned: 401 for a bad signature, 409 for a replayed nonce, 400 otherwise.
- A verified request is answered ``{"response": "<JWS>"}`` sealed with the server's key and
  echoing the request's nonce, refusals included.
- A verified request about a namespace runs its operation in a savepoint: a refusal undoes the
  operation, never the claimed nonce (a replay stays refused).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from protocol.clock import Clock
from protocol.envelope import NonceStore, Opened, open_request, parse_message, seal_response
from protocol.errors import InvalidSignature, RemoteProtocolError, ReplayedMessage
from protocol.messages import ErrorAnswer, ErrorCode, Message
from protocol.provisioning import (
    NamespacePlanTrialRequest,
    NamespaceProvision,
    NamespaceTrialRequest,
)
from protocol.signing import KeySet, SigningKey
from webcore.clock import app_clock
from webcore.errors import Refusal
from webcore.transaction import discard_changes


def request_token() -> str:
    """The sealed request in the body, or RemoteProtocolError."""
    data: Any = request.get_json(silent=True)
    token = data.get("request") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise RemoteProtocolError('expected a JSON body {"request": "<JWS>"}', field="request")
    return token


NamespaceMessage = TypeVar(
    "NamespaceMessage", bound=NamespaceProvision | NamespaceTrialRequest | NamespacePlanTrialRequest
)


def open_namespace_request(
    kind: type[NamespaceMessage],
    namespace_id: int,
    keys: KeySet,
    clock: Clock,
    nonces: NonceStore,
    window: dt.timedelta,
) -> tuple[Opened, NamespaceMessage]:
    """The sealed request in the body, opened (signed by one of ``keys``, fresh, its nonce
    claimed) and read as a ``kind`` about the namespace of the path, ``namespace_id``;
    RemoteProtocolError when any of that fails."""
    opened = open_request(request_token(), keys, clock, nonces, window)
    message = parse_message(opened, kind)
    if message.namespace_id != namespace_id:
        raise RemoteProtocolError("names another namespace", field="namespace_id")
    return opened, message


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


def answer_namespace_request(
    kind: type[NamespaceMessage],
    namespace_id: int,
    keys: KeySet,
    nonces: NonceStore,
    window: dt.timedelta,
    key: SigningKey,
    operate: Callable[[NamespaceMessage, dt.datetime], Message],
    log: logging.Logger,
) -> ResponseReturnValue:
    """The whole answer to a sealed ``kind`` about the namespace of the path: unsigned when it
    fails a check (``open_namespace_request``); else what ``operate`` answers, or the
    ``Refusal`` it raises as an ErrorAnswer with the refusal's status, sealed with ``key``."""
    clock = app_clock()
    try:
        opened, message = open_namespace_request(kind, namespace_id, keys, clock, nonces, window)
    except RemoteProtocolError as error:
        return unverified(error, log)
    try:
        with current_app.extensions["sqlalchemy"].session.begin_nested():
            answer = operate(message, clock.now())
    except Refusal as refusal:
        refused = ErrorAnswer(ErrorCode(refusal.code), str(refusal.message))
        return sealed(refused, key, clock, opened.nonce, refusal.status)
    return sealed(answer, key, clock, opened.nonce)
