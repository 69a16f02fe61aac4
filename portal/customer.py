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

from portal import idempotency, licensing, purchases
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
    PaymentMethod,
    Role,
    Subscription,
    db,
)
from portal.orders import OrderTerms
from portal.payments import payment_methods
from portal.pricing import format_money
from portal.subscriptions import (
    active_add_on,
    change_contact,
    current_add_ons,
    orders_of,
    subscriptions_of,
)
from portal.views import subscription_or_404
from webcore.auth import roles_required
from webcore.clock import app_clock
from webcore.errors import Refusal, refusal_redirects, refusal_renders
from webcore.headers import shows_secret
from webcore.params import InvalidNumber, int_arg

MAX_SEATS = 99_999_999  # eight digits, as the form has always taken

blueprint = Blueprint("customer", __name__, url_prefix="/subscriptions")


def _own_subscription(name: str) -> Subscription:
    subscription = subscription_or_404(name)
    if subscription.customer_id != current_user.id:
        abort(404)
    return subscription


def _own_invoice(subscription: Subscription, invoice_id: int) -> Invoice:
    found = db.get_or_404(Invoice, invoice_id)
    if found.subscription_id != subscription.id:
        abort(404)
    return found


def _seats_field() -> int | None:
    try:
        return int_arg(request.form, "seats", maximum=MAX_SEATS)
    except InvalidNumber:
        return None


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
    )


@blueprint.get("/<name>")
@shows_secret  # the activation code (?code=1)
@roles_required(Role.CUSTOMER)
def show(name: str) -> ResponseReturnValue:
    subscription = _own_subscription(name)
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
    subscription = _own_subscription(name)
    return render_template(
        "billing/invoices.html",
        subscription=subscription,
        invoices=invoicing.invoices_of(subscription),
        invoice_endpoint="customer.invoice",
    )


@blueprint.get("/<name>/invoices/<id:invoice_id>")
@roles_required(Role.CUSTOMER)
def invoice(name: str, invoice_id: int) -> ResponseReturnValue:
    subscription = _own_subscription(name)
    found = _own_invoice(subscription, invoice_id)
    return render_template("billing/invoice.html", invoice=found, subscription=subscription)


@blueprint.post("/<name>/invoices/<id:invoice_id>/accept_amendment")
@roles_required(Role.CUSTOMER)
def accept_amendment(name: str, invoice_id: int) -> ResponseReturnValue:
    """R34: the customer accepts the order amendment of a quarterly review; it is invoiced."""
    subscription = _own_subscription(name)
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
    subscription = _own_subscription(name)
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
    subscription = _own_subscription(name)
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
    subscription = _own_subscription(name)
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


@dataclass(frozen=True)
class PurchaseFlow:
    """One self-serve flow: its rule checks, its price, and the purchase itself."""

    check: Callable[[Subscription, int, dt.date], object]
    quote: Callable[[Subscription, int, dt.date], int]
    purchase: Callable[..., Order]
    order_kind: str


FLOWS = {
    "duo_pro": PurchaseFlow(
        purchases.check_duo_pro_purchase,
        purchases.duo_pro_quote,
        purchases.buy_duo_pro,
        OrderKind.DUO_PRO,
    ),
    "add_seats": PurchaseFlow(
        purchases.check_add_seats,
        purchases.add_seats_quote,
        purchases.add_seats,
        OrderKind.ADD_ON_SEATS,
    ),
}


def _purchased(subscription: Subscription, order: Order) -> ResponseReturnValue:
    """The answer to a purchase, also to the same summary submitted again (a retry)."""
    flash(
        f"Your purchase of {order.quantity} seats is complete (order #{order.id}, "
        f"{format_money(order.amount_cents)}). A confirmation was sent to "
        f"{subscription.contact_email}.",
        "success",
    )
    return redirect(url_for(".show", name=subscription.name))


def _purchase_page(subscription: Subscription, kind: str) -> ResponseReturnValue:
    """Both purchase flows: seats → purchase summary (price) → payment method → Purchase seats."""
    flow, now = FLOWS[kind], app_clock().now()
    today = now.date()
    context = {
        "subscription": subscription,
        "kind": kind,
        "methods": payment_methods(current_user.id),
        "active": active_add_on(subscription, today),
    }

    def page(step: str, status: int = 200, **extra: object) -> ResponseReturnValue:
        return render_template("customer/purchase.html", step=step, **context, **extra), status

    if request.method != "POST":  # GET and HEAD only show the page, whatever their body says
        with refusal_redirects(url_for(".show", name=subscription.name)):
            flow.check(subscription, 1, today)  # refuse at once what no seat count can fix
        return page("seats")
    purchasing = request.form.get("step") == "purchase"
    # The same summary submitted again: its order, before any check the order changed.
    with refusal_redirects(url_for(".show", name=subscription.name)):
        key = idempotency.idempotency_key(request.form.get(idempotency.FORM_FIELD))
        earlier = idempotency.replayed(subscription, key, flow.order_kind) if purchasing else None
    if earlier is not None:
        return _purchased(subscription, earlier)
    seats = _seats_field()
    with refusal_renders(lambda refused: page("seats", 422, seats=request.form.get("seats", ""))):
        if seats is None:
            raise Refused("Enter a number of seats of at least 1.", code="invalid_seats")
        flow.check(subscription, seats, today)
    amount = flow.quote(subscription, seats, today)
    if not purchasing:
        key = idempotency.new_idempotency_key()  # one per rendered summary
        return page("summary", seats=seats, amount=amount, idempotency_key=key)
    try:
        method_id = int_arg(request.form, "payment_method")
    except InvalidNumber:
        method_id = None  # no such card: the purchase refuses it as a missing payment method
    method = db.session.get(PaymentMethod, method_id) if method_id else None

    def summary_again(refused: Refusal) -> ResponseReturnValue:
        # Nothing was placed: the same key may buy on a second try (another card).
        again = key or idempotency.new_idempotency_key()
        return page("summary", 422, seats=seats, amount=amount, idempotency_key=again)

    with refusal_renders(summary_again):
        order = idempotency.place_once(
            subscription,
            key,
            flow.order_kind,
            lambda k: flow.purchase(
                OrderTerms(
                    subscription=subscription, placed_by=current_user, now=now, idempotency_key=k
                ),
                seats,
                method,
            ),
        )
    return _purchased(subscription, order)


@blueprint.route("/<name>/buy_duo_pro", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def buy_duo_pro(name: str) -> ResponseReturnValue:
    return _purchase_page(_own_subscription(name), "duo_pro")


@blueprint.route("/<name>/add_seats", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def add_seats(name: str) -> ResponseReturnValue:
    return _purchase_page(_own_subscription(name), "add_seats")


@blueprint.route("/<name>/contact", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def contact(name: str) -> ResponseReturnValue:
    subscription = _own_subscription(name)
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
