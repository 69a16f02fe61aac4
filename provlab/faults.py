"""Faults between the instance and the portal, injected where the instance's calls leave it.

The instance reaches the portal through one ``requests.Session``; a ``FaultyAdapter`` wraps the
adapter that session already uses (real HTTP or in-process), so a fault behaves the same over
both transports. Each fault is what the real world does to a Seat Link call:

- ``unreachable``: the connection is refused;
- ``timeout``: the answer comes later than the instance waits;
- ``server_error``: the portal answers 5xx;
- ``tampered``: a byte of the signed answer changed on the way;
- ``wrong_key``: the answer is validly signed, but by a key the instance does not pin;
- ``replay``: an earlier genuine answer is sent again (its nonce is not this request's);
- ``proxy``: a wrong HTTP proxy setting: the proxy cannot be reached.

Clock skew and declined payments are not transport faults: the scenario vocabulary moves one
party's clock, or pays with a card the payment gateway declines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter

from protocol.encoding import b64url_decode
from protocol.signing import SigningKey, sign

TRANSPORT_FAULTS = (
    "unreachable",
    "timeout",
    "server_error",
    "tampered",
    "wrong_key",
    "replay",
    "proxy",
)


@dataclass
class FaultState:
    """The faults in force; shared by every adapter of one instance session."""

    active: set[str] = field(default_factory=set)
    last_good: dict[str, requests.Response] = field(default_factory=dict)
    injected: int = 0

    def set(self, kind: str) -> None:
        if kind not in TRANSPORT_FAULTS + PORTAL_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(TRANSPORT_FAULTS)}")
        self.active.add(kind)

    def clear(self, kind: str | None = None) -> None:
        if kind is None:
            self.active.clear()
        else:
            self.active.discard(kind)


class FaultyAdapter(BaseAdapter):
    def __init__(self, inner: BaseAdapter, state: FaultState) -> None:
        super().__init__()
        self.inner = inner
        self.state = state

    # BaseAdapter.send's own parameters and defaults (HTTPAdapter's); Session.send passes them
    # all, and they go to the inner adapter unchanged.
    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        active = self.state.active
        if active & {"unreachable", "proxy", "timeout"}:
            self.state.injected += 1
            if "proxy" in active:
                raise requests.exceptions.ProxyError(
                    "Cannot connect to proxy (connection refused)", request=request
                )
            if "unreachable" in active:
                raise requests.exceptions.ConnectionError("Connection refused", request=request)
            raise requests.exceptions.ReadTimeout("Read timed out", request=request)
        path = request.path_url
        if "replay" in active and path in self.state.last_good:
            self.state.injected += 1
            return self.state.last_good[path]
        response = self.inner.send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )
        if response.status_code == 200 and not active:
            self.state.last_good[path] = response
        if "server_error" in active:
            self.state.injected += 1
            return _replace_body(response, 503, b'{"error": "Service Unavailable"}')
        if "tampered" in active or "wrong_key" in active:
            body = _json(response)
            token = body.get("response") if isinstance(body, dict) else None
            if isinstance(token, str):
                self.state.injected += 1
                changed = _tamper(token) if "tampered" in active else _resign(token)
                return _replace_body(
                    response, response.status_code, json.dumps({"response": changed}).encode()
                )
        return response

    def close(self) -> None:
        self.inner.close()


def install(session: requests.Session, state: FaultState) -> None:
    """Wrap every adapter mounted on ``session`` (idempotent)."""
    for prefix, adapter in list(session.adapters.items()):
        if not isinstance(adapter, FaultyAdapter):
            session.mount(prefix, FaultyAdapter(adapter, state))


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _replace_body(response: requests.Response, status: int, body: bytes) -> requests.Response:
    changed = requests.Response()
    changed.status_code = status
    changed.headers = requests.structures.CaseInsensitiveDict(
        {
            **dict(response.headers),
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
        }
    )
    changed._content = body
    changed.url, changed.request, changed.encoding = response.url, response.request, "utf-8"
    return changed


def _tamper(token: str) -> str:
    # Change one character in the middle of the payload: a single flipped bit on the wire.
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    replacement = "A" if payload[middle] != "A" else "B"
    return f"{header}.{payload[:middle]}{replacement}{payload[middle + 1 :]}.{signature}"


def _resign(token: str) -> str:
    header, payload, _ = token.split(".")
    typ = json.loads(b64url_decode(header))["typ"]
    return sign(b64url_decode(payload), SigningKey.generate(), typ)


def describe(state: FaultState) -> Mapping[str, Any]:
    return {"active": sorted(state.active), "injected": state.injected}


# -- faults on a running pair (``provlab up``) ---------------------------------------------------------

PORTAL_FAULTS = ("payment_declined",)


def fault_blueprint(app_name: str, state: FaultState) -> Any:
    """``/-/faults``: list, set and clear faults of a server started by ``provlab up``.

    Guarded by the pair's simulation token, like the simulation endpoints.
    """
    import hmac

    from flask import Blueprint, current_app, jsonify, request

    blueprint = Blueprint("faults", __name__, url_prefix="/-/faults")
    known = TRANSPORT_FAULTS if app_name == "instance" else PORTAL_FAULTS

    @blueprint.before_request
    def _guard() -> Any:
        expected = current_app.config.get("SIMULATION_TOKEN") or ""
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not expected or not hmac.compare_digest(supplied.encode(), expected.encode()):
            return jsonify({"error": "a valid simulation token is required"}), 401
        return None

    @blueprint.get("")
    def show() -> Any:
        return jsonify({"app": app_name, "known": list(known), **describe(state)})

    @blueprint.post("")
    def change() -> Any:
        body = request.get_json(silent=True) or {}
        kind, clear = body.get("set"), body.get("clear")
        if kind is not None:
            if kind not in known:
                return jsonify(
                    {
                        "error": f"unknown fault {kind!r} for the {app_name}; known: {', '.join(known)}"
                    }
                ), 400
            state.active.add(kind)
        elif clear is not None:
            state.clear(None if clear == "all" else str(clear))
        else:
            return jsonify({"error": 'expected {"set": KIND} or {"clear": KIND|"all"}'}), 400
        if app_name == "portal":
            _decline_all_payments(current_app, "payment_declined" in state.active)
        return jsonify({"app": app_name, "known": list(known), **describe(state)})

    return blueprint


def _decline_all_payments(app: Any, on: bool) -> None:
    # Through the portal's own switch, which every purchase path consults (CLI processes too).
    from portal.payments import decline_all_payments

    decline_all_payments(app, on)


def wire_fault_injection(app: Any, app_name: str) -> FaultState:
    """Give a served app its fault switch; the instance's calls to the portal go through it."""
    from webcore.auth import csrf

    state = FaultState()
    if app_name == "portal":
        _decline_all_payments(app, False)  # a fresh server starts with no fault in force
    if app_name == "instance":
        from instance.portal_client import SESSION_HOOK

        session = requests.Session()
        session.trust_env = True  # R16: proxy settings from the environment, as in production
        install(session, state)
        app.extensions[SESSION_HOOK] = session
    blueprint = fault_blueprint(app_name, state)
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
    return state
