# Envelopes: every message travels signed, timestamped and with a nonce.
#
#   payload = canonical_json({"type", "timestamp", "nonce", "body"})
#   request  token: typ "provlab-request+jws",  signed by the instance's key
#   response token: typ "provlab-response+jws", signed by the portal's key, nonce = request's
#
# Rules this module enforces, in this order, and nothing is changed until all pass:
#   1. signature   -> InvalidSignature  (first, so a forger learns nothing and burns nothing)
#   2. freshness   -> StaleMessage      (timestamp within +/- window of the receiver's clock)
#   3. nonce       -> ReplayedMessage   (requests: claimed once in the NonceStore)
#                  -> NonceMismatch     (responses: must echo the nonce of our request)
# - A nonce is remembered until its message would be stale anyway (timestamp + window), so
#   the store stays small without ever letting a replay through.
# - A self-signed request (activation) brings its own key; that key vouches for nothing but
#   an activation request, and any trouble reaching it is a failed signature.
# - A key change (typ "provlab-key-change+jws") is signed by the key already registered for
#   the instance, names the instance and the new key, and carries the nonce of the activation
#   request it rides in: claimed with that request, so it proves one request only.
from __future__ import annotations

import heapq
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from protocol._fields import Reader, check_text, fail
from protocol.clock import Clock, format_utc
from protocol.encoding import b64url_decode, b64url_encode, canonical_json, parse_json
from protocol.errors import (
    InvalidSignature,
    LocalProtocolError,
    NonceMismatch,
    RemoteProtocolError,
    ReplayedMessage,
    StaleMessage,
)
from protocol.messages import ActivationRequest, KeyChange, Message
from protocol.signing import KeySet, SigningKey, VerifyingKey, _split, _verify_token, sign

__all__ = [
    "DEFAULT_FRESHNESS_WINDOW",
    "KEY_CHANGE_TYP",
    "REQUEST_TYP",
    "RESPONSE_TYP",
    "MemoryNonceStore",
    "NonceStore",
    "Opened",
    "new_nonce",
    "open_key_change",
    "open_request",
    "open_response",
    "open_self_signed_request",
    "parse_message",
    "peek_nonce",
    "seal_key_change",
    "seal_request",
    "seal_response",
]

REQUEST_TYP = "provlab-request+jws"
RESPONSE_TYP = "provlab-response+jws"
KEY_CHANGE_TYP = "provlab-key-change+jws"
DEFAULT_FRESHNESS_WINDOW = timedelta(minutes=5)
_ENVELOPE_FIELDS = ("type", "timestamp", "nonce", "body")
# 16 characters of base64url is 96 bits: less could collide across a fleet of instances.
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
M = TypeVar("M", bound=Message)


class NonceStore(Protocol):
    def claim(self, nonce: str, expires_at: datetime) -> bool:
        """True the first time `nonce` is seen, False on reuse; may forget it after
        `expires_at`. Must be atomic: two concurrent claims of one nonce, one True."""
        ...


class MemoryNonceStore:
    """A NonceStore in memory, for one process (tests, the simulator).

    It forgets a nonce once `expires_at` has passed on `clock`. Without a clock it forgets
    only when prune() is called: guessing "now" from the wall clock would, under simulated
    time running behind it, forget nonces early and let replays through.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, datetime] = {}
        self._queue: list[tuple[datetime, str]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def claim(self, nonce: str, expires_at: datetime) -> bool:
        with self._lock:
            if self._clock is not None:
                self._prune(self._clock.now())
            if nonce in self._expiry:
                return False
            self._expiry[nonce] = expires_at
            heapq.heappush(self._queue, (expires_at, nonce))
            return True

    def prune(self, now: datetime) -> int:
        """Forget nonces whose expiry is before `now`; return how many were forgotten."""
        with self._lock:
            return self._prune(now)

    def _prune(self, now: datetime) -> int:
        forgotten = 0
        while self._queue and self._queue[0][0] < now:
            _, nonce = heapq.heappop(self._queue)
            del self._expiry[nonce]
            forgotten += 1
        return forgotten


def new_nonce() -> str:
    """128 random bits, base64url."""
    return b64url_encode(secrets.token_bytes(16))


@dataclass(frozen=True)
class Opened:
    """A verified, fresh envelope; `body` is still untrusted in shape: see parse_message."""

    type: str
    body: dict[str, Any]
    nonce: str
    timestamp: datetime
    kid: str


def _check_nonce(
    field: str, nonce: object, error: type[LocalProtocolError | RemoteProtocolError]
) -> str:
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        fail(error, field, "expected 16 to 128 base64url characters")
    return nonce


def _check_window(window: object) -> timedelta:
    if not isinstance(window, timedelta) or window <= timedelta(0):
        fail(LocalProtocolError, "window", "expected a positive timedelta")
    return window


def _seal(message: Message, key: SigningKey, clock: Clock, nonce: str, typ: str) -> str:
    message_type = check_text("message.TYPE", getattr(message, "TYPE", None))
    envelope = {
        "type": message_type,
        "timestamp": format_utc(clock.now()),
        "nonce": nonce,
        "body": message.to_dict(),
    }
    return sign(canonical_json(envelope), key, typ)


def seal_request(
    message: Message, key: SigningKey, clock: Clock, nonce: str | None = None
) -> tuple[str, str]:
    """Sign `message` as a request; returns (token, nonce). Keep the nonce for open_response."""
    nonce = new_nonce() if nonce is None else _check_nonce("nonce", nonce, LocalProtocolError)
    return _seal(message, key, clock, nonce, REQUEST_TYP), nonce


def seal_response(message: Message, key: SigningKey, clock: Clock, request_nonce: str) -> str:
    """Sign `message` as the answer to the request that carried `request_nonce`."""
    nonce = _check_nonce("request_nonce", request_nonce, LocalProtocolError)
    return _seal(message, key, clock, nonce, RESPONSE_TYP)


def _envelope(payload: bytes, kid: str, where: str) -> Opened:
    # The signature is good, so a malformed envelope is the signer's bug, not a forgery:
    # RemoteProtocolError with the field, which helps whoever has to fix the signer.
    try:
        data = parse_json(payload)
    except ValueError:
        fail(RemoteProtocolError, where, "expected a JSON object")
    read = Reader(where, data, _ENVELOPE_FIELDS)
    return Opened(
        type=read.text("type"),
        body=read.mapping("body"),
        nonce=_check_nonce(read.path("nonce"), read.data["nonce"], RemoteProtocolError),
        timestamp=read.instant("timestamp"),
        kid=kid,
    )


def _check_fresh(opened: Opened, clock: Clock, window: timedelta, where: str) -> None:
    now = clock.now()
    if abs(now - opened.timestamp) > window:
        raise StaleMessage(
            f"{format_utc(opened.timestamp)} is outside {window} of this party's clock "
            f"({format_utc(now)}); check both clocks",
            field=f"{where}.timestamp",
        )


def _open_fresh(
    token: str, keys: KeySet, typ: str, where: str, clock: Clock, window: timedelta
) -> Opened:
    """The envelope of a `typ` token signed by one of `keys`, checked fresh by `clock`."""
    kid, payload = _verify_token(token, keys, typ)
    opened = _envelope(payload, kid, where)
    _check_fresh(opened, clock, window, where)
    return opened


def _claim(opened: Opened, nonce_store: NonceStore, window: timedelta) -> None:
    if not nonce_store.claim(opened.nonce, opened.timestamp + window):
        raise ReplayedMessage("this nonce was already used", field="request.nonce")


def open_request(
    token: str,
    keys: KeySet,
    clock: Clock,
    nonce_store: NonceStore,
    window: timedelta = DEFAULT_FRESHNESS_WINDOW,
) -> Opened:
    """Verify, check freshness, then claim the nonce of a request signed by one of `keys`."""
    window = _check_window(window)
    opened = _open_fresh(token, keys, REQUEST_TYP, "request", clock, window)
    _claim(opened, nonce_store, window)
    return opened


def _self_signed_key(token: str) -> VerifyingKey:
    # Read before verification, so every problem here is a failed signature: the key that
    # would vouch for the message is itself unproven.
    try:
        data = parse_json(b64url_decode(_split(token)[1]))
        if not isinstance(data, dict) or data.get("type") != ActivationRequest.TYPE:
            raise InvalidSignature()
        body = data.get("body")
        if not isinstance(body, dict):
            raise InvalidSignature()
        return VerifyingKey.from_jwk(body.get("instance_public_key"))
    except (ValueError, RemoteProtocolError):
        raise InvalidSignature() from None


def open_self_signed_request(
    token: str,
    clock: Clock,
    nonce_store: NonceStore,
    window: timedelta = DEFAULT_FRESHNESS_WINDOW,
) -> tuple[Opened, VerifyingKey]:
    """Open an activation request signed by the key it carries; returns that key too, for
    the portal to register as the instance's key (R8)."""
    window = _check_window(window)
    key = _self_signed_key(token)
    opened = _open_fresh(token, KeySet((key,)), REQUEST_TYP, "request", clock, window)
    _claim(opened, nonce_store, window)
    return opened, key


def seal_key_change(
    change: KeyChange, registered_key: SigningKey, clock: Clock, request_nonce: str
) -> str:
    """Sign `change` with the key registered for the instance, for the one activation request
    sealed with `request_nonce` (pass that nonce to seal_request)."""
    nonce = _check_nonce("request_nonce", request_nonce, LocalProtocolError)
    return _seal(change, registered_key, clock, nonce, KEY_CHANGE_TYP)


def open_key_change(
    request: ActivationRequest,
    opened: Opened,
    registered: VerifyingKey,
    clock: Clock,
    window: timedelta = DEFAULT_FRESHNESS_WINDOW,
) -> KeyChange:
    """Prove that the key `registered` for `request.instance_id` hands the instance over to the
    key that signed `opened` (the already opened, nonce-claimed activation request).

    No key change, one signed by another key or for another request, instance or key: each is
    a ProtocolError, and the caller keeps the registered key.
    """
    window = _check_window(window)
    if request.key_change is None:
        raise InvalidSignature()
    proof = _open_fresh(
        request.key_change, KeySet((registered,)), KEY_CHANGE_TYP, "key_change", clock, window
    )
    if not secrets.compare_digest(proof.nonce, opened.nonce):
        raise NonceMismatch("was sealed for another request", field="key_change.nonce")
    change = parse_message(proof, KeyChange)
    if change.instance_id != request.instance_id:
        fail(RemoteProtocolError, "key_change.instance_id", "names another instance")
    if change.new_key_id != request.verifying_key().thumbprint():
        fail(RemoteProtocolError, "key_change.new_key_id", "names another key")
    return change


def open_response(
    token: str,
    keys: KeySet,
    clock: Clock,
    expected_nonce: str,
    window: timedelta = DEFAULT_FRESHNESS_WINDOW,
) -> Opened:
    """Verify a response, check freshness, and that it answers *our* request."""
    window = _check_window(window)
    expected = _check_nonce("expected_nonce", expected_nonce, LocalProtocolError)
    opened = _open_fresh(token, keys, RESPONSE_TYP, "response", clock, window)
    if not secrets.compare_digest(opened.nonce, expected):
        raise NonceMismatch("does not echo the nonce of this request", field="response.nonce")
    return opened


def peek_nonce(token: str) -> str | None:
    """The nonce a request *claims*, unverified, or None.

    For one use only: answering a refused request (stale, replayed, badly signed) with a
    sealed ErrorAnswer the instance can match to its request. Echoing an unproven nonce
    gives nothing away: the answer is still signed by the portal, and only the instance
    that chose the nonce is waiting for it.
    """
    try:
        data = parse_json(b64url_decode(_split(token)[1]))
    except (ValueError, InvalidSignature):
        return None
    nonce = data.get("nonce") if isinstance(data, dict) else None
    return nonce if isinstance(nonce, str) and _NONCE.fullmatch(nonce) else None


def parse_message(opened: Opened, cls: type[M]) -> M:
    """The body of `opened` as a `cls`; a different type is the peer's error."""
    if opened.type != cls.TYPE:
        fail(
            RemoteProtocolError, "message.type", f"expected {cls.TYPE!r}, got {opened.type[:64]!r}"
        )
    return cls.from_dict(opened.body)
