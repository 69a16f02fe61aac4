"""Payments behind a small interface; the implementation is chosen by configuration.

Only a fake gateway exists (Provision Lab sells nothing for real): it accepts every card except
those whose number ends in one of ``DECLINED_CARD_SUFFIXES`` (like a payment provider's test
cards). A purchase charges last, after its order row has claimed the form's idempotency key and
before the transaction commits: a declined card raises, the rollback provisions nothing, and a
second submission of the same form is stopped by the key before it can charge.

Every charge, whichever path it comes from (the customer's pages, ``provlab portal`` commands,
jobs), goes through ``payment_gateway()``: that is the one place the ``payment_declined`` fault of
a running pair is consulted. The fault is a flag file in the portal's instance folder rather
than process memory, so a CLI process on the same ``var`` folder declines as the server does.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from flask import Flask, current_app

from portal.errors import Refused
from portal.models import PaymentMethod, db
from webcore.params import InvalidNumber, int_arg


class PaymentDeclined(Refused):
    """The card issuer declined the charge; nothing was purchased."""

    code = "payment_declined"


class PaymentGateway(Protocol):
    def charge(self, method: PaymentMethod, amount_cents: int, description: str) -> str:
        """Charge ``amount_cents``; return the payment reference or raise PaymentDeclined."""
        ...


def payment_methods(account_id: int) -> list[PaymentMethod]:
    """The cards an account has saved, oldest first: the choices of a purchase's billing
    information."""
    return list(
        db.session.execute(
            sa.select(PaymentMethod)
            .where(PaymentMethod.account_id == account_id)
            .order_by(PaymentMethod.id)
        ).scalars()
    )


def chosen_payment_method(form: Mapping[str, Any]) -> PaymentMethod | None:
    """The saved card a purchase form's ``payment_method`` names; None for no card, or no such
    card: the purchase refuses that as a missing payment method."""
    try:
        method_id = int_arg(form, "payment_method", minimum=1, maximum=2**31 - 1)
    except InvalidNumber:
        return None
    return db.session.get(PaymentMethod, method_id) if method_id else None


DECLINE_ALL_FLAG = "payments_declined"  # in the app's instance folder, while the fault is on


def _declined(method: PaymentMethod) -> PaymentDeclined:
    return PaymentDeclined(
        f"Your payment was declined by the card issuer ({method.label}). "
        "Nothing was purchased; choose another payment method."
    )


class FakeGateway:
    def __init__(self, declined_suffixes: list[str]) -> None:
        self.declined_suffixes = tuple(declined_suffixes)

    def charge(self, method: PaymentMethod, amount_cents: int, description: str) -> str:
        if method.last4.endswith(self.declined_suffixes):
            raise _declined(method)
        return f"pay_{secrets.token_hex(8)}"


class DecliningGateway:
    """A gateway that declines every charge (the ``payment_declined`` fault)."""

    def charge(self, method: PaymentMethod, amount_cents: int, description: str) -> str:
        raise _declined(method)


def _flag(app: Flask) -> Path:
    return Path(app.instance_path) / DECLINE_ALL_FLAG


def declining_all_payments(app: Flask) -> bool:
    return _flag(app).exists()


def decline_all_payments(app: Flask, on: bool) -> None:
    """Switch the ``payment_declined`` fault on or off for every process on this folder."""
    flag = _flag(app)
    if on:
        flag.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(flag, os.O_CREAT | os.O_WRONLY, 0o600))
    else:
        flag.unlink(missing_ok=True)


def payment_gateway() -> PaymentGateway:
    """The gateway every purchase path charges through (see the module docstring)."""
    if declining_all_payments(current_app):
        return DecliningGateway()
    gateway = current_app.extensions.get("portal.payments")
    if gateway is None:
        suffixes = current_app.config["DECLINED_CARD_SUFFIXES"]
        if isinstance(suffixes, str):
            suffixes = [s.strip() for s in suffixes.split(",") if s.strip()]
        gateway = FakeGateway(list(suffixes))
        current_app.extensions["portal.payments"] = gateway
    return gateway
