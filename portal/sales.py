"""Sales' pages: orders placed on a customer's subscription (R3, R5, R6, R23).

Duo Enterprise, extra add-on or subscription seats, renewals, and $0 orders that extend a Duo
trial. The rules live in ``portal.purchases``; these routes only load, call and commit.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal import purchases
from portal.errors import Refused
from portal.models import Order, OrderKind, Role, Subscription, db
from portal.subscriptions import active_add_on, find_subscription
from webcore.auth import roles_required
from webcore.clock import app_clock
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


ORDERS: dict[str, Callable[[Subscription], Order]] = {
    OrderKind.DUO_ENTERPRISE: lambda s: purchases.sell_duo_enterprise(
        s, _number("seats"), app_clock().now(), current_user
    ),
    OrderKind.ADD_ON_SEATS: lambda s: purchases.sell_add_on_seats(
        s, _number("seats"), app_clock().now(), current_user
    ),
    OrderKind.SUBSCRIPTION_SEATS: lambda s: purchases.sell_subscription_seats(
        s, _number("seats"), app_clock().now(), current_user
    ),
    OrderKind.RENEWAL: lambda s: purchases.renew(
        s,
        app_clock().now(),
        current_user,
        seats=_number("seats"),
        add_on_seats=_number("add_on_seats") if request.form.get("add_on_seats") else None,
    ),
    OrderKind.TRIAL_EXTENSION: lambda s: purchases.extend_duo_trial(
        s, _number("days"), app_clock().now(), current_user, request.form.get("note", "")
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
    found = find_subscription(name)
    if found is None:
        abort(404)
    return render_template(
        "sales/subscription.html",
        subscription=found,
        active=active_add_on(found, app_clock().now().date()),
        kinds=OrderKind.LABELS,
    )


@blueprint.post("/subscriptions/<name>/orders")
@roles_required(Role.SALES)
def place_order(name: str) -> ResponseReturnValue:
    found = find_subscription(name)
    if found is None:
        abort(404)
    place = ORDERS.get(request.form.get("kind", ""))
    if place is None:
        flash("Choose a kind of order.", "error")
        return redirect(url_for(".subscription", name=found.name))
    try:
        order = place(found)
    except Refused as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for(".subscription", name=found.name))
    db.session.commit()
    flash(f"Order #{order.id} placed: {OrderKind.LABELS[order.kind]}.", "success")
    return redirect(url_for(".subscription", name=found.name))
