"""R5 lives in one operation: every order that could put an add-on above the subscription's seats
is refused by ``check_add_on_seats`` (its code and rule), and the automatic renewal fits the add-on
to the renewed seats with ``fit_add_on_seats``. A second, hand-written copy of the check would
refuse without the code and fail here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from portal import purchases
from portal.errors import Refused
from portal.models import Account, PaymentMethod, Subscription, db
from portal.orders import OrderTerms
from portal.subscriptions import (
    ADD_ON_SEATS_EXCEED,
    check_add_on_seats,
    find_subscription,
    fit_add_on_seats,
)
from tests.portal.helpers import make_account, make_subscription, now, payment_method_ids


def test_check_add_on_seats_refuses_above_the_subscription_seats_only() -> None:
    check_add_on_seats(20, 20)
    with pytest.raises(Refused) as caught:
        check_add_on_seats(21, 20, advice=": you can add at most 5.")
    refusal = caught.value
    assert (refusal.code, refusal.rule) == (ADD_ON_SEATS_EXCEED, "R5")
    assert refusal.message == (
        "The add-on's seats can't exceed the subscription's 20 seats: you can add at most 5."
    )
    with pytest.raises(Refused, match=r"subscription's 7 seats\.$"):
        check_add_on_seats(8, 7)


def test_fit_add_on_seats_never_above_the_renewed_seats() -> None:
    assert fit_add_on_seats(10, 7) == 7
    assert fit_add_on_seats(5, 7) == 5


# (subscription, customer, their card, sales, now): one order above the ceiling of 20 seats.
Order = Callable[[Subscription, Account, PaymentMethod, Account, Any], object]


def _by(subscription: Subscription, account: Account, at: Any) -> OrderTerms:
    return OrderTerms(subscription=subscription, placed_by=account, now=at)


ORDERS: dict[str, Order] = {
    "buy Duo Pro": lambda s, buyer, card, seller, at: purchases.buy_duo_pro(
        _by(s, buyer, at), 21, card
    ),
    "add seats": lambda s, buyer, card, seller, at: purchases.add_seats(_by(s, buyer, at), 6, card),
    "sell Duo Enterprise": lambda s, buyer, card, seller, at: purchases.sell_duo_enterprise(
        _by(s, seller, at), 21
    ),
    "sell add-on seats": lambda s, buyer, card, seller, at: purchases.sell_add_on_seats(
        _by(s, seller, at), 6
    ),
    "renew below the add-on": lambda s, buyer, card, seller, at: purchases.renew(
        _by(s, seller, at), seats=14
    ),
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_every_order_above_the_ceiling_is_refused_by_the_one_r5_check(
    portal_app: Flask, order: str
) -> None:
    customer_id = make_account(portal_app, "owner@example.com")
    seller_id = make_account(portal_app, "sales@provlab.example", role="sales")
    name = make_subscription(portal_app, customer_id, seats=20)
    card_id, _ = payment_method_ids(portal_app, customer_id)
    with portal_app.app_context():
        subscription = find_subscription(name)
        buyer = db.session.get(Account, customer_id)
        seller = db.session.get(Account, seller_id)
        assert subscription is not None and buyer is not None
        card = db.session.get(PaymentMethod, card_id)
        assert card is not None
        at = now(portal_app)
        if order in ("add seats", "sell add-on seats", "renew below the add-on"):
            purchases.buy_duo_pro(_by(subscription, buyer, at), 15, card)
        with pytest.raises(Refused) as caught:
            ORDERS[order](subscription, buyer, card, seller, at)
        db.session.rollback()
    assert (caught.value.code, caught.value.rule) == (ADD_ON_SEATS_EXCEED, "R5")
