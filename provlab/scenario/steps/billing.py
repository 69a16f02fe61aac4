"""Billing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from provlab.scenario.steps.common import (
    _as_sales,
    _check_refusal,
    _now,
    _subscription,
)
from provlab.scenario.vocabulary import StepContext, action
from webcore.transaction import unit_of_work


@action("check_in", "- check_in: {subscription: A-S00000001, period: Q1, maximum: 112}")
def check_in(context: StepContext, args: Any) -> None:
    """Sales enter the maximum active users a customer without Seat Link reported (R32)."""
    from portal.errors import Refused
    from portal.seat_billing import record_check_in

    fields = context.mapping(args, {"subscription", "period", "maximum"}, {"expect_refusal"})
    outcome = None
    try:
        with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
            record_check_in(
                subscription,
                period_label=str(fields["period"]),
                reported_maximum=str(fields["maximum"]),
                entered_by=seller,
                now=now,
            )
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "check-in")


@action("cancel_renewal", "- cancel_renewal: {subscription: A-S00000001}")
def cancel_renewal(context: StepContext, args: Any) -> None:
    """The customer cancels the automatic renewal (R36: in time only 30 days or more before)."""
    from portal.errors import Refused
    from portal.seat_billing import cancel_auto_renewal
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription"}, {"expect_refusal"})
    app = context.world.portal
    outcome = None
    try:
        with unit_of_work(app):
            subscription = _subscription(context, find_subscription(str(fields["subscription"])))
            cancel_auto_renewal(subscription, _now(app).date())
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "cancellation")


@action("accept_amendment", "- accept_amendment: {subscription: A-S00000001}")
def accept_amendment(context: StepContext, args: Any) -> None:
    """The customer accepts the oldest order amendment waiting; it is invoiced (R34)."""
    from portal.models import Invoice, InvoiceState
    from portal.seat_billing import accept_amendment as accept
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription"})
    app = context.world.portal
    with unit_of_work(app) as session:
        subscription = _subscription(context, find_subscription(str(fields["subscription"])))
        waiting = (
            session.execute(
                sa.select(Invoice)
                .where(
                    Invoice.subscription_id == subscription.id,
                    Invoice.state == InvoiceState.AMENDMENT_SENT,
                )
                .order_by(Invoice.id)
            )
            .scalars()
            .first()
        )
        if waiting is None:
            context.fail("no order amendment is waiting for the customer")
        accept(waiting, _now(app))
