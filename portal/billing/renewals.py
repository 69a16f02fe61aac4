"""Renewals wired to the portal's tables: the one renewal operation, the automatic renewal at the
end of a term and the customer's notice of cancellation.

Rules held here:
- R35: at the end of a term not reviewed quarterly, the annual review charges the overage at full
  list price for the prior term, invoiced with the renewal.
- R36: ``renew_or_end`` renews a term at its end at the current active user count unless the
  customer gave notice at least 30 days before (``cancel_auto_renewal``).
- R5: a renewed add-on never has more seats than the renewed subscription; the instance removes
  assignments above the new quantity at its next sync (R28).

``renew`` is the one renewal operation: the automatic renewal here and the renewal sales order
(``portal.purchases.renew``) both call it. Where the sales order fits *(choice)*: sales negotiate
it ahead of the term end, at seats sales choose; it extends the current term by a year, so the
automatic renewal (which acts only on the day a term ends) does not happen for that term, and the
extended term is reviewed as one longer term (quarters Q1..Q8, the last one never charged, an
annual review every 12 months; see docs/billing.md "Terms of another length").

Operations flush, never commit; the jobs and routes commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from portal.billing.invoicing import send_new_license, store_invoice
from portal.billing.policy.calendar import MONTHS_PER_YEAR, Period, add_months
from portal.billing.policy.invoices import Invoice as PolicyInvoice
from portal.billing.policy.invoices import LineItem
from portal.billing.policy.renewals import (
    Cancellation,
    Renewal,
    add_on_renewal,
    decide_renewal,
    final_review_invoice,
    renewal_invoice,
)
from portal.billing.policy.reviews import AnnualReview, ReviewCycle
from portal.billing.reviews import (
    annual_reviews,
    billed,
    review_cycle_in_effect,
    review_of,
    store_review,
    subscription_term,
)
from portal.billing.usage import active_count_at_end, current_term
from portal.errors import Refused
from portal.models import AddOnPurchase, Invoice, Subscription, db
from portal.pricing import yearly_price
from portal.subscriptions import fit_add_on_seats, lock
from protocol.license import Plan


def renewal_for_a_year(subscription: Subscription, seats: int) -> Renewal:
    """A renewal at ``seats`` for the year after the current term ends (the sales order)."""
    renews_on = subscription.ends_on
    return Renewal(
        renews_on=renews_on,
        new_term=Period(starts_on=renews_on, ends_on=add_months(renews_on, MONTHS_PER_YEAR)),
        seats=seats,
    )


def renew(
    subscription: Subscription,
    renewal: Renewal,
    now: dt.datetime,
    *,
    add_on_seats: int | None = None,
    annual: Iterable[AnnualReview] = (),
) -> PolicyInvoice:
    """R36, R5: renew ``subscription`` for ``renewal.seats`` seats until the new term's end.

    The paid add-on ending with the term renews with it, for the new term, at ``add_on_seats``
    (default: its seats now; 0 renews none), never above the renewed seats (R5); an add-on
    running past the renewal (a trial) is brought down to them too. Returns the renewal invoice
    (``annual``'s overages, the seats, the add-on) for the caller to record; the caller decides
    what else the renewal changes (a new term, the notice of cancellation) and who is told.
    """
    plan = Plan(subscription.plan)
    list_price = 0 if plan is Plan.FREE else yearly_price(plan.value)
    add_ons = _renew_add_on(subscription, renewal, now, add_on_seats)
    subscription.seats = renewal.seats
    subscription.ends_on = renewal.new_term.ends_on
    db.session.flush()
    return renewal_invoice(
        subscription.name,
        renewal,
        list_price_cents=list_price,
        annual_reviews=annual,
        add_ons=add_ons,
    )


def renewing_add_on(subscription: Subscription, term_ends_on: dt.date) -> AddOnPurchase | None:
    """The paid add-on that renews with the term ending on ``term_ends_on``, if any (R1)."""
    ending = [
        p
        for p in subscription.add_on_purchases
        if p.ends_on == term_ends_on and not p.trial and p.ends_on > p.starts_on
    ]
    return ending[-1] if ending else None


def _renew_add_on(
    subscription: Subscription, renewal: Renewal, now: dt.datetime, add_on_seats: int | None
) -> tuple[LineItem, ...]:
    old_end = renewal.renews_on
    for running in subscription.add_on_purchases:
        if running.ends_on > old_end and running.quantity > renewal.seats:
            # R5: e.g. a trial running past the renewal
            running.quantity = fit_add_on_seats(running.quantity, renewal.seats)
    last = renewing_add_on(subscription, old_end)
    if last is None:
        return ()
    quantity = fit_add_on_seats(
        last.quantity if add_on_seats is None else add_on_seats, renewal.seats
    )
    if quantity < 1:
        return ()
    db.session.add(
        AddOnPurchase(
            subscription=subscription,
            tier=last.tier,
            quantity=quantity,
            starts_on=renewal.new_term.starts_on,
            ends_on=renewal.new_term.ends_on,
            trial=False,
            created_at=now,
        )
    )
    line = add_on_renewal(
        renewal, tier=last.tier, quantity=quantity, unit_price_cents=yearly_price(last.tier)
    )
    return (line,)


def cancel_auto_renewal(subscription: Subscription, today: dt.date) -> Renewal | Cancellation:
    """R36: the customer gives notice of cancellation today; returns what will happen.

    Notice at least 30 days before the renewal date cancels the renewal; later notice is kept
    but the subscription still renews at its active user count.
    """
    lock(subscription)
    if not billed(subscription) or subscription.ended_on is not None:
        raise Refused("This subscription does not renew automatically.")
    if today >= subscription.ends_on:
        raise Refused("This subscription's term has already ended.")
    if subscription.cancellation_notified_on is not None:
        raise Refused(
            f"Notice of cancellation was already given on {subscription.cancellation_notified_on}."
        )
    subscription.cancellation_notified_on = today
    subscription.auto_renew = False
    db.session.flush()
    return decide_renewal(
        renews_on=subscription.ends_on, active_users=1, cancellation_notified_on=today
    )


def renew_or_end(subscription: Subscription, now: dt.datetime) -> Invoice | None:
    """R35, R36: at the end of the term, renew at the active count or end (notice in time).

    The annual review (for terms not reviewed quarterly) is stored and its overage invoiced with
    the renewal; a cancelled term's overage is invoiced alone. Returns the invoice, if any.
    """
    lock(subscription)
    term = current_term(subscription)
    sub_term = subscription_term(subscription)  # a plan missing from PRICE_LIST stops here
    annual: tuple[AnnualReview, ...] = ()
    if review_cycle_in_effect(subscription) is ReviewCycle.ANNUAL:
        annual = annual_reviews(subscription, sub_term)
        for review in annual:
            if review_of(subscription, review.period) is None:
                store_review(subscription, term, review, now)
    notice = subscription.cancellation_notified_on
    if notice is None and not subscription.auto_renew:
        notice = term.starts_on  # renewal turned off at purchase: notice long given
    active = active_count_at_end(subscription, term)
    decision = decide_renewal(
        renews_on=term.ends_on,
        active_users=active.users,
        cancellation_notified_on=notice,
    )
    if isinstance(decision, Cancellation):
        subscription.ended_on = term.ends_on
        db.session.flush()
        final = final_review_invoice(subscription.name, decision, annual)
        return store_invoice(subscription, final, now) if final else None
    invoice = renew(subscription, decision, now, annual=annual)
    subscription.renewed_on = decision.new_term.starts_on  # a new term: reviewed afresh
    subscription.cancellation_notified_on = None
    subscription.auto_renew = True
    db.session.flush()
    row = store_invoice(subscription, invoice, now, note=active.statement)
    send_new_license(
        subscription,
        now,
        f"Your subscription renewed for {decision.seats} seats, your active user count, from "
        f"{decision.new_term.starts_on} to {decision.new_term.ends_on}.",
    )
    return row
