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
  error with a hint for the administrator, and so is every answer that did not come from the
  portal's API: a redirect (never followed: it would carry our request to wherever a proxy or a
  captive portal points, and it is always a misconfiguration), and any 5xx, 407, 408 or 429
  whatever its body (a proxy's or load balancer's JSON error is not a failed verification).
- An unsigned ``{"error": ...}`` answer proves nothing about who sent it: it is shown as a refusal
  that could not be verified (``unverified_answer``), never with the advice its claimed code
  would get if it were signed (such as activating again).
- The session comes from one place, ``portal_session(app)``: a test or the orchestrator can put a
  ready ``requests.Session`` in ``app.extensions["instance.portal_session"]`` (for example
  ``webcore.transport.in_process_session(portal_app, PORTAL_URL)``) and every call uses it.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from flask import Flask

from protocol.clock import Clock
from protocol.envelope import (
    new_nonce,
    open_response,
    parse_message,
    seal_key_change,
    seal_request,
)
from protocol.errors import ProtocolError
from protocol.messages import (
    ActivationAnswer,
    ActivationRequest,
    ErrorAnswer,
    ErrorCode,
    KeyChange,
    Message,
    SyncAnswer,
    SyncRequest,
)
from protocol.provisioning import (
    NamespacePlanTrialRequest,
    NamespaceProvision,
    NamespaceTrialRequest,
)
from protocol.signing import KeySet, SigningKey
from webcore.params import loads_bounded
from webcore.transport import note_call_out

log = logging.getLogger(__name__)

SESSION_HOOK = "instance.portal_session"
ACTIVATIONS_PATH = "/api/v1/activations"
SEAT_LINKS_PATH = "/api/v1/seat_links"
DUO_TRIALS_PATH = "/api/v1/namespaces/{namespace_id}/duo_trials"  # GitLab.com only
TRIALS_PATH = "/api/v1/namespaces/{namespace_id}/trials"  # GitLab.com only: Ultimate trials

CONNECTIVITY = "connectivity"
INVALID_ANSWER = "invalid_answer"
NOT_CONFIGURED = "not_configured"
UNVERIFIED_ANSWER = "unverified_answer"

ACTIVATION_SUCCESS = "Your subscription was successfully activated."
ACTIVATION_CONNECTIVITY = "Cannot activate instance due to a connectivity issue"
SYNC_CONNECTIVITY = "Cannot synchronize subscription due to a connectivity issue"
TRIAL_CONNECTIVITY = "The trial could not be started: the Customers Portal is unreachable."
CONNECTIVITY_HINT = (
    "Check that this instance can reach the Customers Portal over HTTPS, directly or through the "
    "proxy set in HTTP_PROXY, HTTPS_PROXY and NO_PROXY."
)
REDIRECT_HINT = (
    "The answer was a redirect, which this instance does not follow: check the Customers Portal "
    "URL and that no proxy or captive portal stands in the way."
)
# Answers that come from something between us and the portal, not from its API (R16).
_NOT_FROM_THE_PORTAL = (407, 408, 429)

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
    UNVERIFIED_ANSWER: (
        "The Customers Portal refused the request, but its answer could not be verified (it was "
        "not signed), so nothing was changed. Try again later; if it persists, check this "
        "instance's clock and its connection to the Customers Portal."
    ),
}


class PortalError(Exception):
    """The portal could not be reached, refused, or answered something unverifiable."""

    def __init__(self, code: str, admin_message: str, detail: str | None = None) -> None:
        self.code = code
        self.admin_message = admin_message
        self.detail = detail
        super().__init__(admin_message if not detail else f"{admin_message} ({detail})")


def portal_session(app: Flask) -> requests.Session:
    """The session every call to the portal goes through (see the module docstring), asked for
    right before the call, which it counts (``webcore.transport.note_call_out``)."""
    note_call_out(app)  # first: a call that fails may still have reached the portal
    hooked = app.extensions.get(SESSION_HOOK)
    if hooked is not None:
        return hooked
    if app.config.get("PORTAL_TRANSPORT") == "http":
        session = requests.Session()
        session.trust_env = True  # R16: proxy settings from the environment
        return session
    raise PortalError(
        NOT_CONFIGURED,
        ADMIN_MESSAGES[NOT_CONFIGURED],
        f"transport {app.config.get('PORTAL_TRANSPORT')!r} needs app.extensions[{SESSION_HOOK!r}]",
    )


A = TypeVar("A", ActivationAnswer, SyncAnswer, NamespaceProvision)


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

    def activate(
        self, request: ActivationRequest, previous_key: SigningKey | None = None
    ) -> ActivationAnswer:
        """Activate with `request`, self-signed by `instance_key`.

        `previous_key`: when this instance moves to a new key, the key the portal has
        registered for it; it signs the hand-over to `instance_key` (a KeyChange bound to this
        one request's nonce), without which the portal refuses the new key.
        """
        nonce = new_nonce()
        if previous_key is not None:
            change = KeyChange(request.instance_id, self.instance_key.verifying_key().thumbprint())
            sealed = seal_key_change(change, previous_key, self.clock, nonce)
            request = dataclasses.replace(request, key_change=sealed)
        return self._call(
            ACTIVATIONS_PATH, request, ActivationAnswer, ACTIVATION_CONNECTIVITY, nonce
        )

    def sync(self, request: SyncRequest) -> SyncAnswer:
        return self._call(SEAT_LINKS_PATH, request, SyncAnswer, SYNC_CONNECTIVITY)

    def request_duo_trial(self, request: NamespaceTrialRequest) -> NamespaceProvision:
        """GitLab.com: a group owner's Duo trial; the answer is the group's new state (R25)."""
        path = DUO_TRIALS_PATH.format(namespace_id=request.namespace_id)
        return self._call(path, request, NamespaceProvision, TRIAL_CONNECTIVITY)

    def request_ultimate_trial(self, request: NamespacePlanTrialRequest) -> NamespaceProvision:
        """GitLab.com: a Free group owner's Ultimate trial; the answer is the group's new state."""
        path = TRIALS_PATH.format(namespace_id=request.namespace_id)
        return self._call(path, request, NamespaceProvision, TRIAL_CONNECTIVITY)

    def _call(
        self,
        path: str,
        message: Message,
        answer: type[A],
        unreachable: str,
        nonce: str | None = None,
    ) -> A:
        token, nonce = seal_request(message, self.instance_key, self.clock, nonce)
        try:
            response = self.session.post(
                self.base_url + path,
                json={"request": token},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            log.warning("portal unreachable at %s: %s", self.base_url, type(exc).__name__)
            raise PortalError(CONNECTIVITY, unreachable, CONNECTIVITY_HINT) from None
        status = response.status_code
        if 300 <= status < 400:
            log.warning("portal answered a redirect (HTTP %s); not followed", status)
            raise PortalError(
                CONNECTIVITY, unreachable, f"HTTP {status}. {REDIRECT_HINT} {CONNECTIVITY_HINT}"
            )
        if status >= 500 or status in _NOT_FROM_THE_PORTAL:
            raise PortalError(CONNECTIVITY, unreachable, f"HTTP {status}. {CONNECTIVITY_HINT}")
        body = _json_body(response)
        if body is None:
            raise PortalError(INVALID_ANSWER, ADMIN_MESSAGES[INVALID_ANSWER], "not JSON")
        sealed = body.get("response")
        if isinstance(sealed, str):
            return self._open(sealed, nonce, answer, status)
        if "error" in body:
            # Unsigned: the portal could not verify our request, or someone else answered.
            claimed = _claimed_code(body["error"])
            log.warning("portal refused with an unsigned answer: %s", claimed)
            raise PortalError(
                UNVERIFIED_ANSWER, ADMIN_MESSAGES[UNVERIFIED_ANSWER], f"unsigned {claimed}"
            )
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


def _claimed_code(error: object) -> str:
    """The code an unsigned error claims, if it is one of ours; only ever logged."""
    code = error.get("code") if isinstance(error, dict) else None
    return code if code in set(ErrorCode) else "unknown"


def _json_body(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = loads_bounded(response.content)
    except ValueError:  # malformed, or nested deeply enough to exhaust the stack
        return None
    return body if isinstance(body, dict) else None
