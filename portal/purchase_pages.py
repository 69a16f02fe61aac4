"""The one flow of every self-serve purchase page (R3, R5, R6, R7): a quantity (seats, packs) →
the purchase summary with its price → a payment method → the purchase, placed once.

Rules:
- GET and HEAD only show the page; a subscription no quantity can fix is refused at once.
- Each rendered summary carries a new idempotency key: the same summary submitted again answers
  with the order it placed (before any check that order changed), never a second charge; a
  refused purchase placed nothing, so its summary comes back with the same key for a retry.
- A bad quantity re-renders the quantity step (422); a refused purchase re-renders the summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal import idempotency
from portal.models import Order, PaymentMethod, Subscription
from portal.orders import OrderTerms
from portal.payments import chosen_payment_method
from webcore.clock import app_clock
from webcore.errors import Refusal, refusal_redirects, refusal_renders


@dataclass(frozen=True)
class PurchaseFlow:
    """One self-serve flow: its rule checks, its price, and the purchase itself."""

    check: Callable[[Subscription, int, dt.date], object]
    quote: Callable[[Subscription, int, dt.date], int]
    purchase: Callable[[OrderTerms, int, PaymentMethod | None], Order]
    order_kind: str
    # The quantity's form field, also the name of the page's first step.
    quantity_field: str
    # The quantity the form gives, or a Refusal saying what to enter.
    read_quantity: Callable[[], int]


# The answers of the page: page(step, status=200, **variables) renders it; purchased(subscription,
# order) answers a placed order (also a summary submitted again).
Page = Callable[..., ResponseReturnValue]
Purchased = Callable[[Subscription, Order], ResponseReturnValue]


def purchase_page(
    subscription: Subscription, flow: PurchaseFlow, page: Page, purchased: Purchased
) -> ResponseReturnValue:
    now = app_clock().now()
    today = now.date()
    back = url_for("customer.show", name=subscription.name)
    field = flow.quantity_field
    if request.method != "POST":  # GET and HEAD only show the page, whatever their body says
        with refusal_redirects(back):
            flow.check(subscription, 1, today)  # refuse at once what no quantity can fix
        return page(field)
    purchasing = request.form.get("step") == "purchase"
    # The same summary submitted again: its order, before any check the order changed.
    with refusal_redirects(back):
        key = idempotency.idempotency_key(request.form.get(idempotency.FORM_FIELD))
        earlier = idempotency.replayed(subscription, key, flow.order_kind) if purchasing else None
    if earlier is not None:
        return purchased(subscription, earlier)
    with refusal_renders(lambda refused: page(field, 422, **{field: request.form.get(field, "")})):
        quantity = flow.read_quantity()
        flow.check(subscription, quantity, today)
    amount = flow.quote(subscription, quantity, today)
    if not purchasing:
        key = idempotency.new_idempotency_key()  # one per rendered summary
        return page("summary", amount=amount, idempotency_key=key, **{field: quantity})
    method = chosen_payment_method(request.form)

    def summary_again(refused: Refusal) -> ResponseReturnValue:
        # Nothing was placed: the same key may buy on a second try (another card).
        again = key or idempotency.new_idempotency_key()
        return page("summary", 422, amount=amount, idempotency_key=again, **{field: quantity})

    with refusal_renders(summary_again):
        order = idempotency.place_once(
            subscription,
            key,
            flow.order_kind,
            lambda k: flow.purchase(
                OrderTerms(
                    subscription=subscription, placed_by=current_user, now=now, idempotency_key=k
                ),
                quantity,
                method,
            ),
        )
    return purchased(subscription, order)
