"""Renewals wired to the portal's tables: the one renewal operation, the automatic renewal at the
end of a term and the customer's notice of cancellation.

Rules held here:
- R35: at the end of a term not reviewed quarterly, the annual review of its last year charges the
  overage at full list price, invoiced with the renewal (earlier years of a longer term were
  invoiced at their own ends, ``reviews.review_due_years``).
- R36: ``renew_or_end`` renews a term at its end at the current active user count unless the
  customer gave notice at least 30 days before (``cancel_auto_renewal``).
- R5: a renewed add-on never has more seats than the renewed subscription; the instance removes
  assignments above the new quantity at its next sync (R28).

``renew`` is the one renewal operation: the automatic renewal here and the renewal sales order
(``portal.purchases.renew``) both call it. A renewal always starts a new term of its own (its own
start, end, quarters and reviews). Sales negotiate theirs ahead of the term end, at seats they
choose: ``renew`` then *books* it (``renewal_seats``, ``renewal_ends_on``) and the current term
runs on unchanged, its seats, reviews and Q4 included, until the renewals job starts the booked
term on the day the current one ends, invoicing the old term's annual overage with it (R35).

Operations flush, never commit; the jobs and routes commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from portal.billing.invoicing import send_new_license, store_invoice
from portal.billing.policy.calendar import MONTHS_PER_YEAR, Period, add_months
from portal.billing.policy.invoices import BillingError, LineItem
from portal.billing.policy.invoices import Invoice as PolicyInvoice
from portal.billing.policy.renewals import (
    Cancellation,
    Renewal,
    add_on_renewal,
    annual_review_invoice,
    decide_renewal,
    final_review_invoice,
    renewal_invoice,
)
from portal.billing.policy.reviews import AnnualReview, ReviewCycle
from portal.billing.reviews import (
    billed,
    review_cycle_in_effect,
    review_due_years,
    subscription_term,
)
from portal.billing.usage import active_count_at_end, current_term
from portal.errors import Refused
from portal.models import AddOnPurchase, Invoice, Subscription, db
from portal.pricing import yearly_price
from portal.subscriptions import fit_add_on_seats, lock
from protocol.license import Plan


def booked_renewal(subscription: Subscription) -> Renewal | None:
    """The renewal sales booked to start when the current term ends, if any."""
    if subscription.renewal_ends_on is None or subscription.renewal_seats is None:
        return None
    return Renewal(
        renews_on=subscription.ends_on,
        new_term=Period(starts_on=subscription.ends_on, ends_on=subscription.renewal_ends_on),
        seats=subscription.renewal_seats,
    )


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
    """R36, R5: renew ``subscription`` for ``renewal.seats`` seats over ``renewal.new_term``.

    A renewal that starts after today (sales booked it before the term ends) is booked: the
    current term, its seats and its reviews run on unchanged, and the renewals job starts the
    new term on its first day (``renew_or_end``). Otherwise the new term starts now: its own
    start, end and seats, the notice of cancellation forgotten.

    The paid GitLab Duo add-on ending with the term renews with it, for the new term, at
    ``add_on_seats`` (default: its seats now; 0 renews none), and Enterprise Agile Planning at its
    seats now, never above the renewed seats (R5); an add-on running past the renewal (a trial)
    is brought down to them too. Returns the renewal invoice
    (``annual``'s overages, the seats, the add-on) for the caller to record and mail.
    """
    booked = booked_renewal(subscription)
    if booked is not None:
        raise Refused(
            f"A renewal is already booked for {booked.seats} seats from "
            f"{booked.new_term.starts_on} to {booked.new_term.ends_on}."
        )
    plan = Plan(subscription.plan)
    list_price = 0 if plan is Plan.FREE else yearly_price(plan.value)
    add_ons = _renew_add_on(subscription, renewal, now, add_on_seats)
    if renewal.renews_on > now.date():
        if renewal.renews_on != subscription.ends_on:
            raise BillingError("renewal: a booked renewal starts when the current term ends")
        subscription.renewal_seats = renewal.seats
        subscription.renewal_ends_on = renewal.new_term.ends_on
        # The customer agreed to renew with sales: a notice of cancellation no longer holds.
        subscription.cancellation_notified_on = None
        subscription.auto_renew = True
    else:
        start_term(subscription, renewal)
    db.session.flush()
    return renewal_invoice(
        subscription.name,
        renewal,
        list_price_cents=list_price,
        annual_reviews=annual,
        add_ons=add_ons,
    )


def start_term(subscription: Subscription, renewal: Renewal) -> None:
    """The renewal's term becomes the current one: reviewed afresh, from its own start (R34)."""
    subscription.seats = renewal.seats
    subscription.renewed_on = renewal.new_term.starts_on
    subscription.ends_on = renewal.new_term.ends_on
    subscription.renewal_seats = None
    subscription.renewal_ends_on = None
    subscription.cancellation_notified_on = None
    subscription.auto_renew = True
    subscription.ended_on = None
    db.session.flush()


def renewing_add_on(subscription: Subscription, term_ends_on: dt.date) -> AddOnPurchase | None:
    """The paid GitLab Duo add-on that renews with the term ending on ``term_ends_on`` (R1)."""
    return _ending_with(subscription.add_on_purchases, term_ends_on)


def _ending_with(purchases: list[AddOnPurchase], term_ends_on: dt.date) -> AddOnPurchase | None:
    ending = [
        p
        for p in purchases
        if p.ends_on == term_ends_on and not p.trial and p.ends_on > p.starts_on
    ]
    return ending[-1] if ending else None


def _renew_add_on(
    subscription: Subscription, renewal: Renewal, now: dt.datetime, add_on_seats: int | None
) -> tuple[LineItem, ...]:
    """The paid add-ons ending with the term renew with it: GitLab Duo at ``add_on_seats`` (its
    seats now by default), Enterprise Agile Planning at its seats now (R6: a product of the
    subscription like Duo, sold beside it); each brought down to the renewed seats (R5)."""
    old_end = renewal.renews_on
    lines: list[LineItem] = []
    for purchases, seats in (
        (subscription.add_on_purchases, add_on_seats),
        (subscription.agile_planning_purchases, None),
    ):
        for running in purchases:
            if running.ends_on > old_end and running.quantity > renewal.seats:
                # R5: e.g. a trial running past the renewal
                running.quantity = fit_add_on_seats(running.quantity, renewal.seats)
        last = _ending_with(purchases, old_end)
        if last is None:
            continue
        quantity = fit_add_on_seats(last.quantity if seats is None else seats, renewal.seats)
        if quantity < 1:
            continue
        db.session.add(
            AddOnPurchase(
                # By id, not through the relationship: the Duo list must never hold an Enterprise
                # Agile Planning row (``Subscription.add_on_purchases``); both lists are reloaded.
                subscription_id=subscription.id,
                tier=last.tier,
                quantity=quantity,
                starts_on=renewal.new_term.starts_on,
                ends_on=renewal.new_term.ends_on,
                trial=False,
                created_at=now,
            )
        )
        lines.append(
            add_on_renewal(
                renewal, tier=last.tier, quantity=quantity, unit_price_cents=yearly_price(last.tier)
            )
        )
    db.session.flush()
    db.session.expire(subscription, ["add_on_purchases", "agile_planning_purchases"])
    return tuple(lines)


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
    booked = booked_renewal(subscription)
    if booked is not None:
        raise Refused(
            f"A renewal is booked with sales from {booked.new_term.starts_on}: ask your sales "
            "contact to change it."
        )
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
    """R35, R36: at the end of the term, start the renewal sales booked, else renew at the
    active count, or end (notice in time).

    The annual review of the term's last year (for terms not reviewed quarterly) is stored and
    its overage invoiced with the renewal: on the renewal invoice, or, when sales booked the
    renewal (its invoice went with the order), on an invoice of its own dated the renewal; a
    cancelled term's overage is invoiced alone. Returns the invoice, if any.
    """
    lock(subscription)
    term = current_term(subscription)
    subscription_term(subscription)  # a plan missing from PRICE_LIST stops here
    annual: tuple[AnnualReview, ...] = ()
    if review_cycle_in_effect(subscription) is ReviewCycle.ANNUAL:
        annual = tuple(review_due_years(subscription, now, at_term_end=True))
    booked = booked_renewal(subscription)
    if booked is not None:
        start_term(subscription, booked)
        overage = annual_review_invoice(subscription.name, annual, issued_on=booked.renews_on)
        row = store_invoice(subscription, overage, now) if overage else None
        send_new_license(
            subscription,
            now,
            f"Your renewal for {booked.seats} seats, booked with sales, starts today: from "
            f"{booked.new_term.starts_on} to {booked.new_term.ends_on}.",
        )
        return row
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
    row = store_invoice(subscription, invoice, now, note=active.statement)
    send_new_license(
        subscription,
        now,
        f"Your subscription renewed for {decision.seats} seats, your active user count, from "
        f"{decision.new_term.starts_on} to {decision.new_term.ends_on}.",
    )
    return row
