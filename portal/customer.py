"""The signed-in customer's pages: subscriptions, the subscription card, purchases, licenses.

Thin routes: load the subscription (a customer sees only their own: anything else is a 404),
call one operation, redirect. Operations enforce the rules (see ``portal.purchases``) and raise
``Refused``, which routes let propagate: the request's one transaction rolls back and the message
is flashed on the page the route names (``webcore.errors``); a request answered normally commits
(``webcore.transaction``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal import licensing, purchases, upgrades
from portal.billing import chart, invoicing, renewals, reviews
from portal.billing.policy.renewals import CANCELLATION_NOTICE_DAYS, Cancellation
from portal.errors import Refused
from portal.gitlab_com.namespaces import check_self_managed
from portal.licensing import activation_of, license_file_for, license_file_name
from portal.models import (
    AddOnPurchase,
    Invoice,
    Order,
    OrderKind,
    Role,
    Subscription,
    db,
)
from portal.payments import payment_methods
from portal.purchase_pages import PurchaseFlow, purchase_page
from portal.subscriptions import (
    active_add_on,
    change_contact,
    current_add_ons,
    orders_of,
    subscriptions_of,
)
from portal.views import back_to_subscription, order_placed, own_subscription_or_404
from webcore.auth import roles_required
from webcore.clock import app_clock
from webcore.errors import Refusal, refusal_redirects, refusal_renders
from webcore.headers import shows_secret
from webcore.params import InvalidNumber, int_arg

MAX_SEATS = 99_999_999  # eight digits, as the form has always taken

blueprint = Blueprint("customer", __name__, url_prefix="/subscriptions")


def _own_invoice(subscription: Subscription, invoice_id: int) -> Invoice:
    found = db.get_or_404(Invoice, invoice_id)
    if found.subscription_id != subscription.id:
        abort(404)
    return found


def _seats() -> int:
    try:
        seats = int_arg(request.form, "seats", maximum=MAX_SEATS)
    except InvalidNumber:
        seats = None
    if seats is None:
        raise Refused("Enter a number of seats of at least 1.", code="invalid_seats")
    return seats


@blueprint.get("")
@roles_required(Role.CUSTOMER)
def index() -> ResponseReturnValue:
    today = app_clock().now().date()
    return render_template(
        "customer/subscriptions.html",
        cards=[_card(s, today) for s in subscriptions_of(current_user)],
        today=today,
    )


@dataclass(frozen=True)
class SubscriptionCard:
    """One card of *Subscriptions & purchases*: what it shows and which purchases it offers
    (the same checks the purchase pages make, so a card never offers what they refuse)."""

    subscription: Subscription
    active: AddOnPurchase | None
    can_buy_duo_pro: bool
    can_add_seats: bool
    can_upgrade: bool  # *Upgrade plan* (``portal.upgrades``)


def _allowed(check: Callable[[], object]) -> bool:
    try:
        check()
    except Refusal:
        return False
    return True


def _card(subscription: Subscription, today: dt.date) -> SubscriptionCard:
    return SubscriptionCard(
        subscription,
        active_add_on(subscription, today),
        _allowed(lambda: purchases.check_duo_pro_purchase(subscription, 1, today)),
        _allowed(lambda: purchases.check_add_seats(subscription, 1, today)),
        _allowed(lambda: upgrades.check_upgradable(subscription, today)),
    )


@blueprint.get("/<name>")
@shows_secret  # the activation code (?code=1)
@roles_required(Role.CUSTOMER)
def show(name: str) -> ResponseReturnValue:
    subscription = own_subscription_or_404(name)
    today = app_clock().now().date()
    return render_template(
        "customer/subscription.html",
        subscription=subscription,
        today=today,
        add_ons=current_add_ons(subscription, today),
        active=active_add_on(subscription, today),
        activation=activation_of(subscription),
        card=_card(subscription, today),
        orders=orders_of(subscription),
        show_code=request.args.get("code") == "1",
        chart=chart.usage_chart_svg(subscription),
        invoices=invoicing.invoices_of(subscription)[:5],
        renews=reviews.billed(subscription) and subscription.ended_on is None,
        review_cycle=reviews.review_cycle_in_effect(subscription).value
        if reviews.billed(subscription)
        else None,
        notice_days=CANCELLATION_NOTICE_DAYS,
        notice_by=subscription.ends_on - dt.timedelta(days=CANCELLATION_NOTICE_DAYS),
    )


@blueprint.get("/<name>/invoices")
@roles_required(Role.CUSTOMER)
def invoices(name: str) -> ResponseReturnValue:
    subscription = own_subscription_or_404(name)
    return render_template(
        "billing/invoices.html",
        subscription=subscription,
        invoices=invoicing.invoices_of(subscription),
        invoice_endpoint="customer.invoice",
    )


@blueprint.get("/<name>/invoices/<id:invoice_id>")
@roles_required(Role.CUSTOMER)
def invoice(name: str, invoice_id: int) -> ResponseReturnValue:
    subscription = own_subscription_or_404(name)
    found = _own_invoice(subscription, invoice_id)
    return render_template("billing/invoice.html", invoice=found, subscription=subscription)


@blueprint.post("/<name>/invoices/<id:invoice_id>/accept_amendment")
@roles_required(Role.CUSTOMER)
def accept_amendment(name: str, invoice_id: int) -> ResponseReturnValue:
    """R34: the customer accepts the order amendment of a quarterly review; it is invoiced."""
    subscription = own_subscription_or_404(name)
    found = _own_invoice(subscription, invoice_id)
    back = url_for(".invoice", name=subscription.name, invoice_id=found.id)
    with refusal_redirects(back):
        invoicing.accept_amendment(found, app_clock().now())
    flash(f"Thank you: order amendment accepted, invoice {found.number} issued.", "success")
    return redirect(back)


@blueprint.post("/<name>/cancel_renewal")
@roles_required(Role.CUSTOMER)
def cancel_renewal(name: str) -> ResponseReturnValue:
    """R36: the customer gives notice of cancellation of the automatic renewal."""
    subscription = own_subscription_or_404(name)
    with refusal_redirects(url_for(".show", name=subscription.name)):
        outcome = renewals.cancel_auto_renewal(subscription, app_clock().now().date())
    if isinstance(outcome, Cancellation):
        flash(
            f"Automatic renewal cancelled: your subscription ends on {subscription.ends_on}.",
            "success",
        )
    else:
        flash(
            f"Notice received less than {CANCELLATION_NOTICE_DAYS} days before the renewal date "
            f"({subscription.ends_on}): the subscription still renews at your active user count.",
            "warning",
        )
    return redirect(url_for(".show", name=subscription.name))


@blueprint.post("/<name>/activation_code")
@roles_required(Role.CUSTOMER)
def activation_code(name: str) -> ResponseReturnValue:
    subscription = own_subscription_or_404(name)
    with refusal_redirects(url_for(".show", name=subscription.name)):
        check_self_managed(subscription)
        licensing.ensure_activation_code(subscription)
    return redirect(url_for(".show", name=subscription.name, code=1) + "#activation-code")


@blueprint.route("/<name>/license", methods=["GET", "POST"])
@shows_secret
@roles_required(Role.CUSTOMER)
def license_download(name: str) -> ResponseReturnValue:
    """The license file of an offline subscription. Minting one records it (R9), so only the
    form's POST does; a GET (an old link, a prefetch) goes to the subscription card, whose
    *Download license* button posts."""
    subscription = own_subscription_or_404(name)
    if request.method != "POST":
        return redirect(url_for(".show", name=subscription.name) + "#license")
    with refusal_redirects(url_for(".show", name=subscription.name)):
        check_self_managed(subscription)
        issued = license_file_for(subscription, app_clock().now())
    return Response(
        issued.token,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{license_file_name(subscription)}"'
        },
    )


FLOWS = {
    "duo_pro": PurchaseFlow(
        purchases.check_duo_pro_purchase,
        purchases.duo_pro_quote,
        purchases.buy_duo_pro,
        OrderKind.DUO_PRO,
        "seats",
        _seats,
    ),
    "add_seats": PurchaseFlow(
        purchases.check_add_seats,
        purchases.add_seats_quote,
        purchases.add_seats,
        OrderKind.ADD_ON_SEATS,
        "seats",
        _seats,
    ),
}


def _purchased(subscription: Subscription, order: Order) -> ResponseReturnValue:
    """The answer to a purchase, also to the same summary submitted again (a retry)."""
    done = f"Your purchase of {order.quantity} seats is complete"
    return back_to_subscription(subscription, order_placed(subscription, order, done))


def _purchase_page(subscription: Subscription, kind: str) -> ResponseReturnValue:
    """Both purchase flows: seats → purchase summary (price) → payment method → Purchase seats."""
    context = {
        "subscription": subscription,
        "kind": kind,
        "methods": payment_methods(current_user.id),
        "active": active_add_on(subscription, app_clock().now().date()),
    }

    def page(step: str, status: int = 200, **extra: object) -> ResponseReturnValue:
        return render_template("customer/purchase.html", step=step, **context, **extra), status

    return purchase_page(subscription, FLOWS[kind], page, _purchased)


@blueprint.route("/<name>/buy_duo_pro", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def buy_duo_pro(name: str) -> ResponseReturnValue:
    return _purchase_page(own_subscription_or_404(name), "duo_pro")


@blueprint.route("/<name>/add_seats", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def add_seats(name: str) -> ResponseReturnValue:
    return _purchase_page(own_subscription_or_404(name), "add_seats")


@blueprint.route("/<name>/contact", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def contact(name: str) -> ResponseReturnValue:
    subscription = own_subscription_or_404(name)
    if request.method == "POST":
        form = request.form

        def again(refused: Refusal) -> ResponseReturnValue:
            return render_template(
                "customer/contact.html", subscription=subscription, form=form
            ), 422

        with refusal_renders(again):
            change_contact(
                subscription,
                name=form.get("name", ""),
                email=form.get("email", ""),
                company=form.get("company", ""),
                country=form.get("country", ""),
            )
        flash("The subscription contact was changed.", "success")
        return redirect(url_for(".show", name=subscription.name))
    return render_template("customer/contact.html", subscription=subscription, form=None)
