"""The instance's client of the Customers Portal: activation and the daily sync (Seat Link).

The wire contract: ``POST {PORTAL_URL}/api/v1/activations`` and ``POST {PORTAL_URL}/api/v1/seat_links``
with ``{"request": <sealed request>}``; the portal answers ``{"response": <sealed answer>}`` (or,
when it could not even verify the request, ``{"error": {"code", "message"}}``).

Rules:
- Every answer is verified against the pinned portal keys, must be fresh and must echo the nonce
  of our request; one that fails any check is refused whole (``invalid_answer``) and the caller
  changes nothing.
- R16: the real transport is ``requests`` with ``trust_env=True``, so HTTP_PROXY, HTTPS_PROXY and
  NO_PROXY from the environment apply. A connection that cannot be made is a ``connectivity``
  error with a hint for the administrator.
- The session comes from one place, ``portal_session(app)``: a test or the orchestrator can put a
  ready ``requests.Session`` in ``app.extensions["instance.portal_session"]`` (for example
  ``webcore.transport.in_process_session(portal_app, PORTAL_URL)``) and every call uses it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from flask import Flask

from protocol.clock import Clock
from protocol.envelope import open_response, parse_message, seal_request
from protocol.errors import ProtocolError
from protocol.messages import (
    ActivationAnswer,
    ActivationRequest,
    ErrorAnswer,
    ErrorCode,
    Message,
    SyncAnswer,
    SyncRequest,
)
from protocol.signing import KeySet, SigningKey
from webcore.params import loads_bounded

log = logging.getLogger(__name__)

SESSION_HOOK = "instance.portal_session"
ACTIVATIONS_PATH = "/api/v1/activations"
SEAT_LINKS_PATH = "/api/v1/seat_links"

CONNECTIVITY = "connectivity"
INVALID_ANSWER = "invalid_answer"
NOT_CONFIGURED = "not_configured"

ACTIVATION_SUCCESS = "Your subscription was successfully activated."
ACTIVATION_CONNECTIVITY = "Cannot activate instance due to a connectivity issue"
SYNC_CONNECTIVITY = "Cannot synchronize subscription due to a connectivity issue"
CONNECTIVITY_HINT = (
    "Check that this instance can reach the Customers Portal over HTTPS, directly or through the "
    "proxy set in HTTP_PROXY, HTTPS_PROXY and NO_PROXY."
)

ADMIN_MESSAGES: dict[str, str] = {
    ErrorCode.INVALID_ACTIVATION_CODE: "Invalid activation code",
    ErrorCode.ACTIVATION_CODE_IN_USE: "This activation code is already in use by another instance",
    ErrorCode.SUBSCRIPTION_EXPIRED: (
        "Your subscription has expired. Renew it in the Customers Portal, then try again."
    ),
    ErrorCode.SUBSCRIPTION_NOT_CLOUD_COMPATIBLE: (
        "This subscription is not compatible with cloud licensing (it has an offline or legacy "
        "license). Upload its license file instead, or ask for a cloud subscription."
    ),
    ErrorCode.SEAT_MISMATCH: (
        "Seat mismatch: this instance has more billable users than the subscription's seats. "
        "Add seats to the subscription, then try again."
    ),
    ErrorCode.UNKNOWN_INSTANCE: (
        "The Customers Portal does not know this instance. Activate it again with an activation "
        "code."
    ),
    ErrorCode.STALE_REQUEST: (
        "The Customers Portal refused the request as stale: check this instance's clock."
    ),
    ErrorCode.INVALID_SIGNATURE: (
        "The Customers Portal could not verify this instance's signature. Activate the instance "
        "again with an activation code."
    ),
    ErrorCode.REPLAYED_REQUEST: "The Customers Portal refused a repeated request; try again.",
    ErrorCode.BAD_REQUEST: "The Customers Portal refused the request as malformed.",
    INVALID_ANSWER: (
        "The answer of the Customers Portal failed verification, so nothing was changed."
    ),
    NOT_CONFIGURED: "The connection to the Customers Portal is not configured.",
}


class PortalError(Exception):
    """The portal could not be reached, refused, or answered something unverifiable."""

    def __init__(self, code: str, admin_message: str, detail: str | None = None) -> None:
        self.code = code
        self.admin_message = admin_message
        self.detail = detail
        super().__init__(admin_message if not detail else f"{admin_message} ({detail})")


def portal_session(app: Flask) -> requests.Session:
    """The session every call to the portal goes through (see the module docstring)."""
    hooked = app.extensions.get(SESSION_HOOK)
    if hooked is not None:
        return hooked  # type: ignore[no-any-return]
    if app.config.get("PORTAL_TRANSPORT") == "http":
        session = requests.Session()
        session.trust_env = True  # R16: proxy settings from the environment
        return session
    raise PortalError(
        NOT_CONFIGURED,
        ADMIN_MESSAGES[NOT_CONFIGURED],
        f"transport {app.config.get('PORTAL_TRANSPORT')!r} needs app.extensions[{SESSION_HOOK!r}]",
    )


A = TypeVar("A", ActivationAnswer, SyncAnswer)


@dataclass
class PortalClient:
    session: requests.Session
    base_url: str
    pinned_keys: KeySet
    clock: Clock
    instance_key: SigningKey
    timeout: float = 10.0

    @classmethod
    def for_app(
        cls, app: Flask, pinned_keys: KeySet, clock: Clock, key: SigningKey
    ) -> PortalClient:
        return cls(
            portal_session(app),
            str(app.config["PORTAL_URL"]).rstrip("/"),
            pinned_keys,
            clock,
            key,
            float(app.config.get("PORTAL_TIMEOUT_SECONDS") or 10.0),
        )

    def activate(self, request: ActivationRequest) -> ActivationAnswer:
        return self._call(ACTIVATIONS_PATH, request, ActivationAnswer, ACTIVATION_CONNECTIVITY)

    def sync(self, request: SyncRequest) -> SyncAnswer:
        return self._call(SEAT_LINKS_PATH, request, SyncAnswer, SYNC_CONNECTIVITY)

    def _call(self, path: str, message: Message, answer: type[A], unreachable: str) -> A:
        token, nonce = seal_request(message, self.instance_key, self.clock)
        try:
            response = self.session.post(
                self.base_url + path, json={"request": token}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            log.warning("portal unreachable at %s: %s", self.base_url, type(exc).__name__)
            raise PortalError(CONNECTIVITY, unreachable, CONNECTIVITY_HINT) from None
        body = _json_body(response)
        if body is None:
            if response.status_code >= 500 or response.status_code in (407, 408, 429):
                raise PortalError(
                    CONNECTIVITY, unreachable, f"HTTP {response.status_code}. {CONNECTIVITY_HINT}"
                )
            raise PortalError(INVALID_ANSWER, ADMIN_MESSAGES[INVALID_ANSWER], "not JSON")
        sealed = body.get("response")
        if isinstance(sealed, str):
            return self._open(sealed, nonce, answer, response.status_code)
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            # Unsigned: the portal could not verify our request. Only ever a refusal.
            code = error["code"]
            raise PortalError(code, ADMIN_MESSAGES.get(code, ADMIN_MESSAGES[INVALID_ANSWER]))
        raise PortalError(INVALID_ANSWER, ADMIN_MESSAGES[INVALID_ANSWER], "no response token")

    def _open(self, sealed: str, nonce: str, answer: type[A], status: int) -> A:
        try:
            opened = open_response(sealed, self.pinned_keys, self.clock, nonce)
            if opened.type == ErrorAnswer.TYPE:
                refusal = parse_message(opened, ErrorAnswer)
            else:
                if status != 200:
                    raise PortalError(INVALID_ANSWER, ADMIN_MESSAGES[INVALID_ANSWER], "status")
                return parse_message(opened, answer)
        except ProtocolError as exc:
            log.warning("portal answer refused: %s", type(exc).__name__)
            raise PortalError(INVALID_ANSWER, ADMIN_MESSAGES[INVALID_ANSWER], str(exc)) from None
        raise PortalError(
            refusal.code, ADMIN_MESSAGES.get(refusal.code, refusal.message), refusal.message
        )


def _json_body(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = loads_bounded(response.content)
    except ValueError:  # malformed, or nested deeply enough to exhaust the stack
        return None
    return body if isinstance(body, dict) else None
