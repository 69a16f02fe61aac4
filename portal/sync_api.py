"""The portal's side of the sync protocol, under ``/api/v1/``.

Wire format (shared with ``instance.portal_client``): a request is ``POST`` with the JSON body
``{"request": "<request JWS>"}`` (see ``protocol.envelope``). The portal answers
- ``200 {"response": "<response JWS>"}`` with an ``ActivationAnswer`` or ``SyncAnswer``;
- ``4xx {"response": "<response JWS>"}`` with an ``ErrorAnswer`` when a verified request is
  refused (invalid or in-use code, expired or not cloud-compatible subscription, unknown instance);
- ``4xx {"error": {"code", "message"}}`` (unsigned) when the request itself fails a check
  (signature, freshness, nonce, shape): nothing proves who sent it, so nothing is signed back,
  and nothing is changed.

- ``POST /api/v1/activations``: activation (the real product's ``cloudActivationActivate``),
  self-signed with the key the instance registers (R8). An instance already bound with another
  key is handed over only with a key change signed by that registered key
  (``protocol.envelope.open_key_change``); otherwise ``activation_code_in_use``.
- ``POST /api/v1/seat_links``: the daily sync, signed with the registered key (R13, R32).
- ``GET  /api/v1/keys``: the portal's public keys (JWKS), for instances to pin.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from portal.activation_throttle import throttle_activation_guesses
from portal.daily_sync import record_sync, sync_target
from portal.keys import published_keys, signing_key
from portal.licensing import HandOver, ProtocolRefusal, activate_instance
from portal.models import db
from portal.nonces import seen_nonces
from protocol.envelope import (
    Opened,
    open_key_change,
    open_request,
    open_self_signed_request,
    parse_message,
)
from protocol.errors import InvalidSignature, ProtocolError, RemoteProtocolError
from protocol.messages import (
    ActivationAnswer,
    ActivationRequest,
    ErrorAnswer,
    ErrorCode,
    Message,
    SyncAnswer,
    SyncRequest,
)
from protocol.signing import KeySet, VerifyingKey, peek_kid
from webcore.clock import app_clock
from webcore.sealed import request_token, sealed, unverified

log = logging.getLogger("provlab.portal.sync")

blueprint = Blueprint("sync_api", __name__, url_prefix="/api/v1")

REFUSAL_STATUS = {
    ErrorCode.INVALID_ACTIVATION_CODE: 404,
    ErrorCode.ACTIVATION_CODE_IN_USE: 409,
    ErrorCode.SUBSCRIPTION_EXPIRED: 403,
    ErrorCode.SUBSCRIPTION_NOT_CLOUD_COMPATIBLE: 422,
    ErrorCode.SEAT_MISMATCH: 422,
    ErrorCode.UNKNOWN_INSTANCE: 403,
}


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=int(current_app.config["FRESHNESS_WINDOW_SECONDS"]))


def _sealed(message: Message, nonce: str, status: int = 200) -> ResponseReturnValue:
    return sealed(message, signing_key(), app_clock(), nonce, status)


def _refused(refusal: ProtocolRefusal, opened: Opened) -> ResponseReturnValue:
    """A verified request refused: it keeps its claimed nonce and nothing else.

    The operation ran in a savepoint taken after the nonce was claimed (``_operation``), so its
    writes are gone and the claim stays: the refused request cannot be replayed.
    """
    log.info("refused %s: %s", request.path, refusal.code.value)
    return _sealed(
        ErrorAnswer(refusal.code.value, refusal.message),
        opened.nonce,
        REFUSAL_STATUS.get(refusal.code, 400),
    )


def _operation() -> Any:
    """A savepoint around a verified request's operation: a refusal undoes what the operation
    wrote, never the nonce claimed before it."""
    return db.session.begin_nested()


def _key_change_check(message: ActivationRequest, opened: Opened) -> HandOver:
    """Whether the key registered for the instance signed a hand-over to this request's key."""

    def handed_over(registered: VerifyingKey) -> bool:
        try:
            open_key_change(message, opened, registered, app_clock(), _window())
        except ProtocolError as error:
            log.info("refused a key change: %s", type(error).__name__)
            return False
        return True

    return handed_over


@blueprint.post("/activations")
@throttle_activation_guesses
def activate() -> ResponseReturnValue:
    try:
        opened, key = open_self_signed_request(request_token(), app_clock(), seen_nonces, _window())
        message = parse_message(opened, ActivationRequest)
        if message.verifying_key().raw() != key.raw():
            raise InvalidSignature()
    except RemoteProtocolError as error:
        return unverified(error, log)
    try:
        with _operation():
            subscription, issued = activate_instance(
                message, key, app_clock().now(), _key_change_check(message, opened)
            )
    except ProtocolRefusal as refusal:
        return _refused(refusal, opened)
    answer = ActivationAnswer(license_token=issued.token, subscription_name=subscription.name)
    log.info("activated instance %s on %s", message.instance_id, subscription.name)
    return _sealed(answer, opened.nonce)


@blueprint.post("/seat_links")
def seat_links() -> ResponseReturnValue:
    now = app_clock().now()
    try:
        token = request_token()
        target = sync_target(_peek_kid(token), now.date())
        if target is None:
            raise InvalidSignature()  # no registered key of that id: as opaque as a bad signature
        key = _registered_key(target.public_key)
        opened = open_request(token, KeySet((key,)), app_clock(), seen_nonces, _window())
        message = parse_message(opened, SyncRequest)
    except RemoteProtocolError as error:
        return unverified(error, log)
    try:
        # No savepoint (unlike an activation): record_sync refuses before it writes anything,
        # so a refusal keeps the nonce claim and nothing else without one.
        license_token = record_sync(target, message, now)
    except ProtocolRefusal as refusal:
        return _refused(refusal, opened)
    return _sealed(SyncAnswer(license_token=license_token), opened.nonce)


def _registered_key(jwk: object) -> VerifyingKey:
    """The activation's registered key; the same key text is read once (every sync reads it)."""
    if not isinstance(jwk, dict) or not all(isinstance(value, str) for value in jwk.values()):
        return VerifyingKey.from_jwk(jwk)  # not a key we stored; let it say what is wrong
    return _key_of(tuple(sorted(jwk.items())))


@functools.lru_cache(maxsize=1024)
def _key_of(members: tuple[tuple[str, str], ...]) -> VerifyingKey:
    return VerifyingKey.from_jwk(dict(members))


def _peek_kid(token: str) -> str:
    try:
        return peek_kid(token)
    except (ValueError, RemoteProtocolError):
        raise InvalidSignature() from None


@blueprint.get("/keys")
def keys() -> ResponseReturnValue:
    return jsonify(published_keys(current_app).to_jwks())
