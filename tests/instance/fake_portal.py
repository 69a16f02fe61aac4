"""A tiny Customers Portal implementing the wire contract, for the instance's tests.

It signs with its own test key, verifies the instance's requests with ``protocol.envelope`` and
keeps just enough state: subscriptions by activation code, bound instances and their keys, and the
reports it received. ``tamper`` lets a test spoil the next answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask, request

from protocol.clock import Clock
from protocol.envelope import (
    MemoryNonceStore,
    open_request,
    open_self_signed_request,
    parse_message,
    seal_response,
)
from protocol.errors import RemoteProtocolError
from protocol.license import (
    AddOnProduct,
    AddOnTier,
    License,
    Licensee,
    LicenseType,
    Plan,
    license_file,
    sign_license,
)
from protocol.messages import (
    ActivationAnswer,
    ActivationRequest,
    ErrorAnswer,
    SyncAnswer,
    SyncRequest,
)
from protocol.signing import KeySet, SigningKey, VerifyingKey, peek_kid

PORTAL_URL = "http://portal.test"


@dataclass
class Subscription:
    name: str
    code: str
    plan: Plan = Plan.ULTIMATE
    seats: int = 100
    starts_on: dt.date = dt.date(2026, 1, 1)
    ends_on: dt.date = dt.date(2027, 1, 1)
    license_type: LicenseType = LicenseType.ONLINE_CLOUD
    add_on_products: list[AddOnProduct] = field(default_factory=list)
    refuse_with: str | None = None  # an ErrorAnswer code to answer with
    instance_id: str | None = None


class FakePortal:
    def __init__(self) -> None:
        self.key = SigningKey.generate()
        self.clock: Clock | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.instance_keys: dict[str, tuple[VerifyingKey, str]] = {}  # kid -> (key, code)
        self.reports: list[SyncRequest] = []
        self.tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self._numbers = 0
        self.nonces: MemoryNonceStore | None = None
        self.app = self._make_app()

    # -- set-up ---------------------------------------------------------------------------------

    @property
    def jwks(self) -> str:
        return json.dumps(KeySet((self.key.verifying_key(),)).to_jwks())

    def add_subscription(self, code: str = "A" * 12 + "b" * 12, **fields: Any) -> Subscription:
        self._numbers += 1
        subscription = Subscription(name=f"A-S{self._numbers:08d}", code=code, **fields)
        self.subscriptions[code] = subscription
        return subscription

    def duo(
        self,
        subscription: Subscription,
        quantity: int,
        *,
        tier: AddOnTier = AddOnTier.DUO_PRO,
        trial: bool = False,
        starts_on: dt.date = dt.date(2026, 1, 1),
        ends_on: dt.date = dt.date(2027, 1, 1),
        purchase_id: str = "P-1",
    ) -> None:
        subscription.add_on_products = [
            AddOnProduct(tier, quantity, starts_on, ends_on, trial, purchase_id)
        ]

    def license(self, subscription: Subscription, instance_id: str | None) -> License:
        assert self.clock is not None
        return License(
            license_id=f"L-{self._numbers}-{len(self.reports)}",
            subscription_name=subscription.name,
            licensee=Licensee("Ada Admin", "ada@example.com", "Example Corp"),
            plan=subscription.plan,
            seats=subscription.seats,
            starts_on=subscription.starts_on,
            ends_on=subscription.ends_on,
            trial=False,
            license_type=subscription.license_type,
            issued_at=self.clock.now(),
            add_on_products=tuple(subscription.add_on_products),
            instance_id=None if subscription.license_type is LicenseType.LEGACY else instance_id,
        )

    def license_file(self, subscription: Subscription, *, trial: bool = False) -> str:
        document = self.license(subscription, None)
        if trial:
            document = replace(document, trial=True)
        return license_file(document, self.key)

    # -- the contract ---------------------------------------------------------------------------

    def _answer(self, body: dict[str, Any], status: int = 200) -> tuple[dict[str, Any], int]:
        if self.tamper is not None:
            body = self.tamper(body)
        return body, status

    def _request_token(self) -> str:
        """The request's signed token; the nonce store is made at the first request, when the
        test has set the clock."""
        assert self.clock is not None
        self.nonces = self.nonces or MemoryNonceStore(self.clock)
        token: str = (request.get_json(silent=True) or {}).get("request", "")
        return token

    def _make_app(self) -> Flask:
        app = Flask("fake_portal")

        @app.post("/api/v1/activations")
        def activations() -> Any:
            token = self._request_token()
            try:
                opened, key = open_self_signed_request(token, self.clock, self.nonces)
                message = parse_message(opened, ActivationRequest)
            except RemoteProtocolError as exc:
                return {"error": {"code": exc.error_code, "message": str(exc)}}, 401
            subscription = self.subscriptions.get(message.activation_code)

            def refuse(code: str, text: str) -> Any:
                sealed = seal_response(ErrorAnswer(code, text), self.key, self.clock, opened.nonce)
                return self._answer({"response": sealed}, 422)

            if subscription is None:
                return refuse("invalid_activation_code", "Invalid activation code")
            if subscription.refuse_with:
                return refuse(subscription.refuse_with, subscription.refuse_with)
            if subscription.instance_id not in (None, message.instance_id):
                return refuse(
                    "activation_code_in_use",
                    "This activation code is already in use by another instance",
                )
            subscription.instance_id = message.instance_id
            self.instance_keys[key.kid] = (key, subscription.code)
            license_token = sign_license(self.license(subscription, message.instance_id), self.key)
            answer = ActivationAnswer(license_token, subscription.name)
            return self._answer(
                {"response": seal_response(answer, self.key, self.clock, opened.nonce)}
            )

        @app.post("/api/v1/seat_links")
        def seat_links() -> Any:
            token = self._request_token()
            try:
                known = self.instance_keys.get(peek_kid(token))
                if known is None:
                    return {"error": {"code": "invalid_signature", "message": "unknown key"}}, 401
                opened = open_request(token, KeySet((known[0],)), self.clock, self.nonces)
                message = parse_message(opened, SyncRequest)
            except RemoteProtocolError as exc:
                return {"error": {"code": exc.error_code, "message": str(exc)}}, 401
            subscription = self.subscriptions[known[1]]
            self.reports.append(message)
            if subscription.refuse_with:
                sealed = seal_response(
                    ErrorAnswer(subscription.refuse_with, "refused"),
                    self.key,
                    self.clock,
                    opened.nonce,
                )
                return self._answer({"response": sealed}, 422)
            license_token = sign_license(self.license(subscription, message.instance_id), self.key)
            sealed = seal_response(SyncAnswer(license_token), self.key, self.clock, opened.nonce)
            return self._answer({"response": sealed})

        return app
