"""What the customer does."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from provlab.scenario.steps.common import (
    CUSTOMER_EMAIL,
    _check_refusal,
    _now,
    _subscription,
)
from provlab.scenario.vocabulary import StepContext, action
from webcore.transaction import unit_of_work


@action(
    "request_trial",
    "- request_trial: {subscription: A-S00000001, email: contact@customer.test, country: IR}",
)
def request_trial(context: StepContext, args: Any) -> None:
    """Submit the public GitLab Duo trial form (JSON endpoint); it always answers success (R22)."""
    fields = context.mapping(
        args,
        {"subscription"},
        {"email", "country", "add_on", "first_name", "last_name", "company", "expect_status"},
    )
    body = {
        "subscription_name": fields["subscription"],
        "email": fields.get("email", "contact@customer.test"),
        "first_name": fields.get("first_name", "Casey"),
        "last_name": fields.get("last_name", "Contact"),
        "company": fields.get("company", "Customer Inc."),
        "country": fields.get("country", "DE"),
        "add_on": fields.get("add_on", "duo_pro"),
    }
    world = context.world
    response = world.client("portal").post(f"{world.portal_url}/api/v1/trial_requests", json=body)
    expected = int(fields.get("expect_status", 202))
    world.timeline.add(
        world.now(),
        "portal",
        "request",
        f"trial request for {body['subscription_name']} → {response.status_code}",
    )
    if response.status_code != expected:
        context.fail(
            f"the trial form answered {response.status_code} ({response.text[:200]}), expected {expected}"
        )


@action("buy_duo_pro", "- buy_duo_pro: {subscription: A-S00000001, seats: 20, card: declined}")
def buy_duo_pro(context: StepContext, args: Any) -> None:
    """The customer buys GitLab Duo Pro seats (R3); a declined card leaves nothing provisioned."""
    from portal.purchases import buy_duo_pro as buy

    _customer_purchase(context, args, buy)


@action("add_seats", "- add_seats: {subscription: A-S00000001, seats: 10, expect_refusal: exceed}")
def add_seats(context: StepContext, args: Any) -> None:
    """The customer buys more seats of the add-on the subscription has (R5)."""
    from portal.purchases import add_seats as buy_more

    _customer_purchase(context, args, buy_more)


def _customer_purchase(context: StepContext, args: Any, purchase: Any) -> None:
    from portal.errors import Refused
    from portal.models import Account, PaymentMethod
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription", "seats"}, {"card", "expect_refusal"})
    app = context.world.portal
    db = app.extensions["sqlalchemy"]
    try:
        with unit_of_work(app):
            buyer = db.session.execute(
                sa.select(Account).where(Account.email == CUSTOMER_EMAIL)
            ).scalar_one()
            last4 = "0002" if fields.get("card") == "declined" else "4242"
            method = PaymentMethod(account_id=buyer.id, brand="Visa", last4=last4)
            db.session.add(method)
            db.session.flush()
            subscription = _subscription(context, find_subscription(str(fields["subscription"])))
            purchase(subscription, int(fields["seats"]), method, _now(app), buyer)
        outcome = None
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "purchase")
