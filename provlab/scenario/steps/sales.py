"""What sales does."""

from __future__ import annotations

from typing import Any

from provlab.scenario.steps.common import (
    _as_sales,
    _check_refusal,
    _subscription,
)
from provlab.scenario.vocabulary import StepContext, action
from webcore.transaction import unit_of_work


@action("renew", "- renew: {subscription: A-S00000001, seats: 50, add_on_seats: 30}")
def renew(context: StepContext, args: Any) -> None:
    """Sales renews the subscription for a year, optionally with a new add-on quantity."""
    from portal.purchases import renew as renew_subscription

    fields = context.mapping(args, {"subscription"}, {"seats", "add_on_seats"})
    with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
        renew_subscription(
            subscription,
            now,
            seller,
            seats=fields.get("seats"),
            add_on_seats=fields.get("add_on_seats"),
        )


@action("sell_duo_enterprise", "- sell_duo_enterprise: {subscription: A-S00000001, seats: 50}")
def sell_duo_enterprise(context: StepContext, args: Any) -> None:
    """Sales books a GitLab Duo Enterprise order (never self-serve, R3); it replaces Duo Pro (R6)."""
    from portal.purchases import sell_duo_enterprise as sell

    fields = context.mapping(args, {"subscription", "seats"})
    with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
        sell(subscription, int(fields["seats"]), now, seller)


@action("extend_trial", "- extend_trial: {subscription: A-S00000001, days: 30, by: sales}")
def extend_trial(context: StepContext, args: Any) -> None:
    """Extend a Duo trial: support is refused (R23); sales books a $0 order."""
    from portal.errors import Refused
    from portal.purchases import extend_duo_trial, support_extend_trial
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription"}, {"days", "by", "expect_refusal"})
    outcome = None
    try:
        if fields.get("by", "sales") == "support":
            with unit_of_work(context.world.portal):
                support_extend_trial(
                    _subscription(context, find_subscription(str(fields["subscription"])))
                )
        else:
            with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
                extend_duo_trial(subscription, int(fields.get("days", 30)), now, seller)
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "trial extension")
