"""What the customer does: the public trial form, self-serve purchases and upgrades (R3, R5, R7,
R22)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal.gitlab_com.namespaces import linked_group
from portal.orders import OrderTerms
from portal.purchases import add_seats as buy_more_seats
from portal.purchases import buy_duo_pro as buy_duo_pro_seats
from portal.setup import add_payment_method
from portal.upgrades import upgrade_plan
from provlab.scenario.steps.refusals import refusal_expected
from provlab.scenario.vocabulary import StepContext, action


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
    portal = context.portal
    response = portal.browser().post(f"{portal.url}/api/v1/trial_requests", json=body)
    expected = int(fields.get("expect_status", 202))
    context.world.timeline.add(
        context.world.now(),
        "portal",
        "request",
        f"trial request for {body['subscription_name']} → {response.status_code}",
    )
    if response.status_code != expected:
        context.fail(
            f"the trial form answered {response.status_code} ({response.text[:200]}), "
            f"expected {expected}"
        )


@action("buy_duo_pro", "- buy_duo_pro: {subscription: A-S00000001, seats: 20, card: declined}")
def buy_duo_pro(context: StepContext, args: Any) -> None:
    """The customer buys GitLab Duo Pro seats (R3); a declined card leaves nothing provisioned."""
    place_order(context, args, "seats", buy_duo_pro_seats)


@action("add_seats", "- add_seats: {subscription: A-S00000001, seats: 10, expect_refusal: exceed}")
def add_seats(context: StepContext, args: Any) -> None:
    """The customer buys more seats of the add-on the subscription has (R5)."""
    place_order(context, args, "seats", buy_more_seats)


def place_order(
    context: StepContext, args: Any, quantity: str, purchase: Callable[..., Any]
) -> None:
    """Pay with a new card (the test card that declines for ``card: declined``) and buy
    `quantity` (seats, packs) of the subscription: ``purchase(terms, quantity, card)``."""
    fields = context.mapping(args, {"subscription", quantity}, {"card", "expect_refusal"})
    portal = context.portal
    with refusal_expected(context, fields.get("expect_refusal"), "purchase"):
        with portal.transaction():
            buyer = portal.customer()
            method = _new_card(buyer, fields)
            subscription = portal.subscription(fields["subscription"])
            terms = OrderTerms(subscription=subscription, placed_by=buyer, now=portal.now())
            purchase(terms, int(fields[quantity]), method)


@action(
    "upgrade_subscription",
    "- upgrade_subscription: {subscription: A-S00000001, plan: ultimate, card: declined, "
    "expect_refusal: declined}",
)
def upgrade_subscription(context: StepContext, args: Any) -> None:
    """The card's *Upgrade plan* → *Upgrade subscription* (R7): Premium to Ultimate for the rest
    of the term. A self-managed instance gets the new tier at its next sync; a subscription
    linked to a GitLab.com group is pushed there at once (its push is due now)."""
    fields = context.mapping(args, {"subscription"}, {"plan", "card", "expect_refusal"})
    portal = context.portal
    linked = False
    with refusal_expected(context, fields.get("expect_refusal"), "upgrade"):
        with portal.transaction():
            buyer = portal.customer()
            method = _new_card(buyer, fields)
            subscription = portal.subscription(fields["subscription"])
            linked = linked_group(subscription) is not None
            terms = OrderTerms(subscription=subscription, placed_by=buyer, now=portal.now())
            upgrade_plan(terms, str(fields.get("plan", "ultimate")), method)
    if linked:
        context.world.travel_to(context.world.now())


def _new_card(buyer: Any, fields: dict[str, Any]) -> Any:
    """A new card for ``buyer``: the test card that declines for ``card: declined``."""
    last4 = "0002" if fields.get("card") == "declined" else "4242"
    return add_payment_method(buyer, "Visa", last4)
