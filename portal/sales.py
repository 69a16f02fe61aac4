"""Sales' pages: orders placed on a customer's subscription (R3, R5, R6, R23).

Duo Enterprise, extra add-on or subscription seats, renewals, and $0 orders that extend a Duo
trial. The rules live in ``portal.purchases``; these routes only load and call (a refusal
propagates: the request's one transaction rolls back, ``webcore.errors`` flashes it).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal import agile_planning, idempotency, purchases
from portal.agile_planning import active_agile_planning
from portal.errors import Refused
from portal.models import Order, OrderKind, Role
from portal.orders import OrderTerms
from portal.subscriptions import active_add_on, ended_duo_trial, find_subscription
from portal.views import subscription_or_404
from webcore.auth import roles_required
from webcore.clock import app_clock
from webcore.errors import refusal_redirects
from webcore.params import InvalidNumber, int_arg

blueprint = Blueprint("sales", __name__, url_prefix="/sales")

MAX_NUMBER = 99_999_999  # seats and days: eight digits, as the form has always taken


def _number(name: str) -> int:
    try:
        number = int_arg(request.form, name, maximum=MAX_NUMBER)
    except InvalidNumber:
        number = None
    if number is None:
        raise Refused(f"Enter a whole number for {name.replace('_', ' ')}.")
    return number


# Each takes the order's terms: the subscription, the seller, now, the form's idempotency key.
ORDERS: dict[str, Callable[[OrderTerms], Order]] = {
    OrderKind.DUO_ENTERPRISE: lambda terms: purchases.sell_duo_enterprise(terms, _number("seats")),
    OrderKind.ADD_ON_SEATS: lambda terms: purchases.sell_add_on_seats(terms, _number("seats")),
    OrderKind.SUBSCRIPTION_SEATS: lambda terms: purchases.sell_subscription_seats(
        terms, _number("seats")
    ),
    OrderKind.AGILE_PLANNING: lambda terms: agile_planning.sell_agile_planning(
        terms, _number("seats")
    ),
    OrderKind.RENEWAL: lambda terms: purchases.renew(
        terms,
        seats=_number("seats"),
        add_on_seats=_number("add_on_seats") if request.form.get("add_on_seats") else None,
    ),
    OrderKind.TRIAL_EXTENSION: lambda terms: purchases.extend_duo_trial(
        terms, _number("days"), request.form.get("note", "")
    ),
}


@blueprint.get("")
@roles_required(Role.SALES)
def index() -> ResponseReturnValue:
    name = request.args.get("q", "").strip()
    if name:
        found = find_subscription(name)
        if found is not None:
            return redirect(url_for(".subscription", name=found.name))
        flash(f"No subscription is named {name}.", "error")
    return render_template("sales/index.html", query=name)


@blueprint.get("/subscriptions/<name>")
@roles_required(Role.SALES)
def subscription(name: str) -> ResponseReturnValue:
    found = subscription_or_404(name)
    today = app_clock().now().date()
    return render_template(
        "sales/subscription.html",
        subscription=found,
        active=active_add_on(found, today),
        agile_planning=active_agile_planning(found, today),  # R6: beside the Duo tier
        ended_trial=ended_duo_trial(found, today),  # R23: sales may extend it with a $0 order
        kinds=OrderKind.LABELS,
        # One key per rendered order form: submitting it twice places the order once.
        keys={kind: idempotency.new_idempotency_key() for kind in OrderKind.LABELS},
    )


@blueprint.post("/subscriptions/<name>/orders")
@roles_required(Role.SALES)
def place_order(name: str) -> ResponseReturnValue:
    found = subscription_or_404(name)
    kind = request.form.get("kind", "")
    place = ORDERS.get(kind)
    with refusal_redirects(url_for(".subscription", name=found.name)):
        if place is None:
            raise Refused("Choose a kind of order.", code="unknown_order_kind")
        key = idempotency.idempotency_key(request.form.get(idempotency.FORM_FIELD))
        order = idempotency.place_once(
            found,
            key,
            kind,
            lambda k: place(
                OrderTerms(
                    subscription=found,
                    placed_by=current_user,
                    now=app_clock().now(),
                    idempotency_key=k,
                )
            ),
        )
    flash(f"Order #{order.id} placed: {OrderKind.LABELS[order.kind]}.", "success")
    return redirect(url_for(".subscription", name=found.name))
