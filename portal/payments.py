"""Payments behind a small interface; the implementation is chosen by configuration.

Only a fake gateway exists (Provision Lab sells nothing for real): it accepts every card except
those whose number ends in one of ``DECLINED_CARD_SUFFIXES`` (like a payment provider's test
cards). A purchase charges before anything is written, so a declined card provisions nothing.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from flask import current_app

from portal.errors import Refused
from portal.models import PaymentMethod


class PaymentDeclined(Refused):
    """The card issuer declined the charge; nothing was purchased."""

    code = "payment_declined"


class PaymentGateway(Protocol):
    def charge(self, method: PaymentMethod, amount_cents: int, description: str) -> str:
        """Charge ``amount_cents``; return the payment reference or raise PaymentDeclined."""
        ...


class FakeGateway:
    def __init__(self, declined_suffixes: list[str]) -> None:
        self.declined_suffixes = tuple(declined_suffixes)

    def charge(self, method: PaymentMethod, amount_cents: int, description: str) -> str:
        if method.last4.endswith(self.declined_suffixes):
            raise PaymentDeclined(
                f"Your payment was declined by the card issuer ({method.label}). "
                "Nothing was purchased; choose another payment method."
            )
        return f"pay_{secrets.token_hex(8)}"


def payment_gateway() -> PaymentGateway:
    gateway = current_app.extensions.get("portal.payments")
    if gateway is None:
        suffixes = current_app.config["DECLINED_CARD_SUFFIXES"]
        if isinstance(suffixes, str):
            suffixes = [s.strip() for s in suffixes.split(",") if s.strip()]
        gateway = FakeGateway(list(suffixes))
        current_app.extensions["portal.payments"] = gateway
    return gateway  # type: ignore[no-any-return]
