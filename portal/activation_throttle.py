"""Activation-code guessing throttled per client.

An activation request is self-signed with a key its sender makes up, so anyone can ask the
portal whether a code exists, as often as they like: the answer ``invalid_activation_code`` (404)
is the oracle. A client (remote address) that has had ``ACTIVATION_GUESS_LIMIT`` codes refused in
the current window of ``ACTIVATION_GUESS_PERIOD_SECONDS`` is answered as GitLab's Rack::Attack
throttles answer (429, "Retry later", ``Retry-After``) until the window ends, before its request
is even opened. Only refused codes count: an instance activating with a good code is never slowed,
and other clients are unaffected. Counts live in the database (``throttle_counters``), so every
worker process sees them; windows follow the app's clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import current_app, request

from portal.models import ThrottleCounter
from webcore.clock import app_clock
from webcore.throttle import Throttle

log = logging.getLogger("provlab.portal.sync")


def activation_guesses() -> Throttle:
    return Throttle(
        "activation_guesses",
        limit=int(current_app.config["ACTIVATION_GUESS_LIMIT"]),
        period=dt.timedelta(seconds=int(current_app.config["ACTIVATION_GUESS_PERIOD_SECONDS"])),
        model=ThrottleCounter,
    )


def _client() -> str:
    # The peer address: the portal runs without a trusted proxy in front, so forwarded-for
    # headers (set by the client itself) are not believed.
    return request.remote_addr or "unknown"


def throttle_activation_guesses(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap the activation view: refuse a throttled client first, count its refused codes."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from portal.sync_api import REFUSAL_STATUS
        from protocol.messages import ErrorCode

        throttle, client, now = activation_guesses(), _client(), app_clock().now()
        refusal = throttle.refusal(client, now)
        if refusal is not None:
            log.info("throttled activation guesses from %s", client)
            return refusal
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == REFUSAL_STATUS[ErrorCode.INVALID_ACTIVATION_CODE]:
            throttle.record(client, now)  # committed with the request's nonce claim
        return response

    return guarded
