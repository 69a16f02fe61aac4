"""Portal pages that are not part of a feature (the home page), and shared template helpers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from portal.models import (
    Account,
    MailKind,
    Order,
    OrderKind,
    Role,
    Subscription,
    SubscriptionKind,
    db,
)
from portal.pricing import format_money
from portal.subscriptions import find_subscription
from protocol.license import AddOnTier, LicenseType, Plan

blueprint = Blueprint("home", __name__)


def find_account(login: str) -> Account | None:
    return db.find(Account, sa.func.lower(Account.email) == login.lower())


def subscription_or_404(name: str) -> Subscription:
    """The subscription a page's URL names; a name no subscription has is Not Found."""
    found = find_subscription(name)
    if found is None:
        abort(404)
    return found


def own_subscription_or_404(name: str) -> Subscription:
    """The signed-in customer's subscription the URL names; another customer's is Not Found
    too, so a page never tells whether a subscription exists."""
    subscription = subscription_or_404(name)
    if subscription.customer_id != current_user.id:
        abort(404)
    return subscription


def order_placed(
    subscription: Subscription, order: Order, done: str, sent: str = "A confirmation"
) -> str:
    """What the customer is told of an order placed: ``done``, the order's number and amount,
    and that ``sent`` (its confirmation or receipt) went to the subscription's contact."""
    return (
        f"{done} (order #{order.id}, {format_money(order.amount_cents)}). {sent} was sent to "
        f"{subscription.contact_email}."
    )


def back_to_subscription(subscription: Subscription, done: str) -> ResponseReturnValue:
    """The answer to a change the customer made to a subscription: its page, saying ``done``."""
    flash(done, "success")
    return redirect(url_for("customer.show", name=subscription.name))


HOME_PAGES: dict[str, str] = {
    Role.CUSTOMER: "customer.index",
    Role.SUPPORT: "support.index",
    Role.SALES: "sales.index",
}


def home_endpoint(account: Account) -> str:
    """Where an account lands after signing in."""
    return HOME_PAGES.get(account.role, "home.index")


@blueprint.app_template_filter("money")
def _money(cents: int) -> str:
    return format_money(cents)


@blueprint.app_context_processor
def _labels() -> dict[str, object]:
    """The domain's enums, for templates to show labels (plan, license type, add-on, kind)."""
    return {
        "Plan": Plan,
        "LicenseType": LicenseType,
        "AddOnTier": AddOnTier,
        "SubscriptionKind": SubscriptionKind,
        "OrderKind": OrderKind,
        "mail_kind": MailKind.label,
    }


@blueprint.get("/")
def root() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for(home_endpoint(current_user)))


@blueprint.get("/home")
@login_required
def index() -> ResponseReturnValue:
    return render_template("home.html", account=current_user)
