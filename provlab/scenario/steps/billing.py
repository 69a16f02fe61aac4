"""Billing on the portal: sales' check-ins for customers without Seat Link (R32), the customer
cancelling the automatic renewal (R36) and accepting an order amendment (R34).

Every billing operation comes from the one import block below, so it can follow the billing
package when it moves.
"""

from __future__ import annotations

from typing import Any

from portal.billing.invoicing import accept_amendment, invoices_of
from portal.billing.renewals import cancel_auto_renewal
from portal.billing.reviews import record_check_in
from portal.models import InvoiceState
from provlab.scenario.steps.refusals import refusal_expected
from provlab.scenario.vocabulary import StepContext, action


@action("check_in", "- check_in: {subscription: A-S00000001, period: Q1, maximum: 112}")
def check_in(context: StepContext, args: Any) -> None:
    """Sales enter the maximum active users a customer without Seat Link reported (R32)."""
    fields = context.mapping(args, {"subscription", "period", "maximum"}, {"expect_refusal"})
    with refusal_expected(context, fields.get("expect_refusal"), "check-in"):
        with context.portal.as_sales(str(fields["subscription"])) as (subscription, seller, now):
            record_check_in(
                subscription,
                period_label=str(fields["period"]),
                reported_maximum=str(fields["maximum"]),
                entered_by=seller,
                now=now,
            )


@action("cancel_renewal", "- cancel_renewal: {subscription: A-S00000001}")
def cancel_renewal(context: StepContext, args: Any) -> None:
    """The customer cancels the automatic renewal (R36: in time only 30 days or more before)."""
    fields = context.mapping(args, {"subscription"}, {"expect_refusal"})
    portal = context.portal
    with refusal_expected(context, fields.get("expect_refusal"), "cancellation"):
        with portal.transaction():
            cancel_auto_renewal(portal.subscription(fields["subscription"]), portal.now().date())


@action("accept_amendment", "- accept_amendment: {subscription: A-S00000001}")
def accept_order_amendment(context: StepContext, args: Any) -> None:
    """The customer accepts the oldest order amendment waiting; it is invoiced (R34)."""
    fields = context.mapping(args, {"subscription"})
    portal = context.portal
    with portal.transaction():
        waiting = [
            invoice
            for invoice in invoices_of(portal.subscription(fields["subscription"]))
            if invoice.state == InvoiceState.AMENDMENT_SENT
        ]
        if not waiting:
            context.fail("no order amendment is waiting for the customer")
        accept_amendment(min(waiting, key=lambda invoice: invoice.id), portal.now())
