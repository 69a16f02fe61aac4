"""What sales does on the portal: renewals, GitLab Duo Enterprise orders, trial extensions (R3,
R6, R23). Sales act through the portal's operations as their admin pages would."""

from __future__ import annotations

from typing import Any

from portal.purchases import extend_duo_trial, sell_duo_enterprise
from portal.purchases import renew as renew_subscription
from portal.purchases import support_extend_trial as support_tries_extending_trial
from provlab.scenario.steps.refusals import refusal_expected
from provlab.scenario.vocabulary import StepContext, action


@action("renew", "- renew: {subscription: A-S00000001, seats: 50, add_on_seats: 30}")
def renew(context: StepContext, args: Any) -> None:
    """Sales renews the subscription for a year, optionally with a new add-on quantity."""
    fields = context.mapping(args, {"subscription"}, {"seats", "add_on_seats"})
    with context.portal.sales_order(str(fields["subscription"])) as terms:
        renew_subscription(
            terms,
            seats=fields.get("seats"),
            add_on_seats=fields.get("add_on_seats"),
        )


@action("sell_duo_enterprise", "- sell_duo_enterprise: {subscription: A-S00000001, seats: 50}")
def sell_duo_enterprise_seats(context: StepContext, args: Any) -> None:
    """Sales books a GitLab Duo Enterprise order (never self-serve, R3); it replaces Duo Pro (R6)."""
    fields = context.mapping(args, {"subscription", "seats"})
    with context.portal.sales_order(str(fields["subscription"])) as terms:
        sell_duo_enterprise(terms, int(fields["seats"]))


@action("extend_trial", "- extend_trial: {subscription: A-S00000001, days: 30, by: sales}")
def extend_trial(context: StepContext, args: Any) -> None:
    """Extend a Duo trial: support is refused (R23); sales books a $0 order."""
    fields = context.mapping(args, {"subscription"}, {"days", "by", "expect_refusal"})
    portal = context.portal
    with refusal_expected(context, fields.get("expect_refusal"), "trial extension"):
        if fields.get("by", "sales") == "support":
            with portal.transaction():
                support_tries_extending_trial(portal.subscription(fields["subscription"]))
        else:
            with portal.sales_order(str(fields["subscription"])) as terms:
                extend_duo_trial(terms, int(fields.get("days", 30)))
