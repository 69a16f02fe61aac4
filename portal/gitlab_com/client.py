"""The portal's client of GitLab.com: the signed provisioning push.

``POST {GITLAB_COM_URL}/api/v4/internal/gitlab_subscriptions/namespaces/:id/provision`` with
``{"request": <NamespaceProvision sealed with the portal's signing key>}``; GitLab.com answers
``{"response": <ProvisionAnswer or ErrorAnswer sealed with its own key>}``, or unsigned
``{"error": ...}`` when it could not verify the push.

Rules:
- Mutual authentication: GitLab.com verifies the portal's key; the portal verifies the answer
  against GitLab.com's pinned keys (``GITLAB_COM_PUBLIC_KEYS``), its freshness, and that it
  echoes this push's nonce. An answer failing any check is ``Unreachable``: nothing is
  recorded, and the push is sent again (it is the whole state, so sending it twice is safe).
- A signed refusal (an unknown group, a subgroup) is ``Refused``: sending it again would get
  the same answer, so it is shown to support instead of retried.
- The session comes from one place, ``gitlab_com_session(app)``; tests and the scenario world
  put an in-process one in ``app.extensions[SESSION_HOOK]``.
"""

from __future__ import annotations

import logging

import requests
from flask import Flask

from portal.keys import load_signing_key
from protocol.clock import Clock
from protocol.envelope import open_response, parse_message, seal_request
from protocol.errors import ProtocolError
from protocol.messages import ErrorAnswer
from protocol.provisioning import NamespaceProvision, ProvisionAnswer
from protocol.signing import KeySet
from webcore.keys import load_pinned_keys
from webcore.params import loads_bounded
from webcore.transport import note_call_out

log = logging.getLogger("provlab.portal.gitlab_com")

SESSION_HOOK = "portal.gitlab_com_session"
PROVISION_PATH = "/api/v4/internal/gitlab_subscriptions/namespaces/{namespace_id}/provision"


class Unreachable(Exception):
    """The push did not get through, or its answer could not be verified: retry it."""


class Refused(Exception):
    """GitLab.com verified the push and refused it (a signed ``ErrorAnswer``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


def gitlab_com_session(app: Flask) -> requests.Session:
    """The session every call to GitLab.com goes through, asked for right before the call,
    which it counts (``webcore.transport.note_call_out``)."""
    note_call_out(app)  # first: a call that fails may still have reached GitLab.com
    hooked = app.extensions.get(SESSION_HOOK)
    if hooked is not None:
        return hooked
    if app.config.get("GITLAB_COM_TRANSPORT") == "http":
        return requests.Session()
    raise Unreachable("GitLab.com's in-process transport is not connected")


def pinned_gitlab_com_keys(app: Flask) -> KeySet:
    value = app.config.get("GITLAB_COM_PUBLIC_KEYS")
    if not value:
        raise Unreachable(
            "No GitLab.com public keys are configured (PORTAL_GITLAB_COM_PUBLIC_KEYS)"
        )
    try:
        return load_pinned_keys(value)
    except (OSError, ValueError, ProtocolError) as exc:
        raise Unreachable("The configured GitLab.com public keys cannot be read") from exc


def push_provision(app: Flask, provision: NamespaceProvision, clock: Clock) -> ProvisionAnswer:
    """Send ``provision`` to GitLab.com; its verified answer, or Unreachable / Refused."""
    keys = pinned_gitlab_com_keys(app)
    token, nonce = seal_request(provision, load_signing_key(app), clock)
    url = str(app.config["GITLAB_COM_URL"]).rstrip("/") + PROVISION_PATH.format(
        namespace_id=provision.namespace_id
    )
    try:
        response = gitlab_com_session(app).post(
            url,
            json={"request": token},
            timeout=float(app.config.get("GITLAB_COM_TIMEOUT_SECONDS") or 10.0),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise Unreachable(f"GitLab.com is unreachable ({type(exc).__name__})") from None
    try:
        body = loads_bounded(response.content)
    except ValueError:
        body = None
    sealed = body.get("response") if isinstance(body, dict) else None
    if not isinstance(sealed, str):
        raise Unreachable(
            f"GitLab.com answered HTTP {response.status_code} without a signed answer"
        )
    try:
        opened = open_response(sealed, keys, clock, nonce)
        if opened.type == ErrorAnswer.TYPE:
            refusal = parse_message(opened, ErrorAnswer)
            raise Refused(refusal.code, refusal.message)
        if response.status_code != 200:
            raise Unreachable(f"GitLab.com answered HTTP {response.status_code}")
        return parse_message(opened, ProvisionAnswer)
    except ProtocolError as exc:
        log.warning("GitLab.com's answer refused: %s", type(exc).__name__)
        raise Unreachable(f"GitLab.com's answer failed verification: {exc}") from None
