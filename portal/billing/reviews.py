"""Seat reviews wired to the portal's tables: which review applies, the check-ins sales enter, the
quarterly review as it happens and the annual review at the end of a term. The formulas and both
worked examples are in docs/billing.md; the policy itself is ``portal.billing.policy``.

Rules held here:
- R32: sales enter the maximum a customer without Seat Link reported, for a period not yet
  reviewed (``record_check_in``).
- R33: a period's utilization is its maximum daily count, measured on its last day (the policy).
- R34: ``review_due_quarters`` reviews each ended quarter but the last, once: the overage is
  charged prorated to the end of the term; with Seat Link it is invoiced at once, without it an
  order amendment is sent first (``invoicing.accept_amendment`` then invoices it). The licensed
  seats rise and a new license is issued and mailed to the contact.
- R35: a term not reviewed quarterly is reviewed at the end of each year (``review_due_years``):
  a year that ends before the term does is invoiced then, at list price for that year; the
  term's last year is charged with the renewal (``renewals.renew_or_end``).

Operations flush, never commit; the jobs and routes commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from portal.billing.policy.calendar import Period, Quarter, ReviewYear, review_years, term_quarters
from portal.billing.policy.renewals import annual_review_invoice
from portal.billing.policy.reviews import (
    QUARTERLY_REVIEW_EFFECTIVE_ON,
    AnnualReview,
    QuarterlyReview,
    ReviewCycle,
    ReviewOutcome,
    choose_review_cycle,
    collection_for,
    quarterly_review_invoice,
    review_quarter_utilization,
    review_year_utilization,
)
from portal.billing.policy.utilization import (
    SubscriptionTerm,
    reported_utilization,
    seat_utilization,
)
from portal.billing.review_inputs import (
    ReviewInputs,
    ReviewRow,
    load_review_inputs,
    seat_link_ids,
)
from portal.billing.review_writes import ReviewWrites
from portal.billing.usage import (
    check_in_for,
    check_in_periods,
    check_ins_of,
    current_term,
    has_seat_link,
)
from portal.errors import Refused
from portal.models import (
    Account,
    SalesCheckIn,
    SeatReview,
    SeatReviewKind,
    Subscription,
    SubscriptionKind,
    db,
    rows_of,
)
from portal.pricing import yearly_price
from portal.subscriptions import lock
from protocol.license import Plan
from webcore.params import InvalidNumber, parse_int

MAX_REPORTED_USERS = 10_000_000


def billed(subscription: Subscription) -> bool:
    """Seat reviews and renewals apply to paid subscriptions on a priced plan."""
    return subscription.kind == SubscriptionKind.PAID and Plan(subscription.plan) is not Plan.FREE


def annual_by_contract(subscription: Subscription) -> bool:
    """The contract asks for the annual review: the subscription is never reviewed quarterly."""
    return subscription.review_cycle == ReviewCycle.ANNUAL


def review_cycle_in_effect(
    subscription: Subscription, inputs: ReviewInputs | None = None
) -> ReviewCycle:
    """R34, R35: quarterly for quarterly terms from 2020-06-15 sharing usage; else annual.

    ``subscription.review_cycle`` is the cycle the contract asks for; a quarterly contract is
    still reviewed annually while its term does not qualify. ``inputs``: already loaded.
    """
    if annual_by_contract(subscription):
        return ReviewCycle.ANNUAL
    term = current_term(subscription)
    quarters = [(q.starts_on, q.ends_on) for q in term_quarters(term)]
    check_ins = inputs.check_ins if inputs else check_ins_of(subscription)
    quarterly_check_ins = any((c.period_starts_on, c.period_ends_on) in quarters for c in check_ins)
    return choose_review_cycle(
        term.starts_on,
        has_seat_link=inputs.seat_link if inputs else has_seat_link(subscription),
        has_sales_check_ins=quarterly_check_ins,
    )


def subscription_term(
    subscription: Subscription,
    *,
    priced: bool = True,
    reviews: Iterable[SeatReview | ReviewRow] | None = None,
) -> SubscriptionTerm:
    """The policy's view of the current term; ``seats`` is the count licensed at its start.

    ``priced=False`` (the chart) needs no list price, so a plan missing from PRICE_LIST can't
    break a page.
    """
    raised = sum(
        r.overage
        for r in (reviews_of(subscription) if reviews is None else reviews)
        if r.kind == SeatReviewKind.QUARTERLY and r.outcome == ReviewOutcome.CHARGED
    )
    return SubscriptionTerm(
        term=current_term(subscription),
        seats=max(subscription.seats - raised, 1),
        list_price_cents=yearly_price(subscription.plan) if priced else 0,
    )


def review_of(subscription: Subscription, period: Period) -> SeatReview | None:
    return db.find(
        SeatReview,
        SeatReview.subscription_id == subscription.id,
        SeatReview.period_starts_on == period.starts_on,
        SeatReview.period_ends_on == period.ends_on,
    )


def reviews_of(subscription: Subscription, term: Period | None = None) -> list[SeatReview]:
    term = term or current_term(subscription)
    return rows_of(
        SeatReview,
        subscription,
        SeatReview.period_starts_on,
        SeatReview.id,
        where=SeatReview.term_starts_on == term.starts_on,
    )


def record_check_in(
    subscription: Subscription,
    *,
    period_label: str,
    reported_maximum: str | int,
    entered_by: Account,
    now: dt.datetime,
) -> SalesCheckIn:
    """R32: sales enter the maximum active users the customer reported for a period.

    A period already reviewed can't be changed; a check-in entered again for a period not yet
    reviewed replaces the earlier figure. Only periods that have ended can be reported (R33:
    utilization is measured on the period's last day).
    """
    try:
        maximum = parse_int(reported_maximum, maximum=MAX_REPORTED_USERS)
    except InvalidNumber:
        raise Refused(
            "Enter the maximum number of active users as a whole number.", rule="R32"
        ) from None
    periods = dict(check_in_periods(subscription))
    period = periods.get(period_label.strip())
    if period is None:
        raise Refused(f"Choose a period of the current term: {', '.join(periods)}.")
    if now.date() < period.last_day:
        raise Refused(
            f"{period_label} ends on {period.last_day}: report its maximum on or after that day.",
            rule="R33",
        )
    reviewed = review_of(subscription, period)
    if reviewed is not None:
        raise Refused(f"{period_label} was already reviewed on {reviewed.reviewed_at.date()}.")
    existing = check_in_for(check_ins_of(subscription), period)
    if existing is None:
        existing = SalesCheckIn(
            subscription_id=subscription.id,
            period_starts_on=period.starts_on,
            period_ends_on=period.ends_on,
        )
        db.session.add(existing)
    existing.reported_maximum = maximum
    existing.entered_by_id = entered_by.id
    existing.entered_at = now
    db.session.flush()
    return existing


def store_review(
    subscription: Subscription,
    term: Period,
    review: QuarterlyReview | AnnualReview,
    now: dt.datetime,
) -> ReviewRow:
    """The review's row, written with the others of its run (``ReviewWrites.write``)."""
    quarterly = isinstance(review, QuarterlyReview)
    period: Quarter | ReviewYear = (
        review.quarter if isinstance(review, QuarterlyReview) else review.period
    )
    return ReviewRow(
        subscription_id=subscription.id,
        kind=SeatReviewKind.QUARTERLY if quarterly else SeatReviewKind.ANNUAL,
        label=period.label,
        term_starts_on=term.starts_on,
        term_ends_on=term.ends_on,
        period_starts_on=period.starts_on,
        period_ends_on=period.ends_on,
        measured_maximum=review.utilization.maximum,
        peak_day=review.utilization.peak_day,
        source=review.utilization.source.value,
        licensed_seats=review.licensed_seats,
        overage=review.overage,
        outcome=review.outcome.value,
        reviewed_at=now,
    )


def review_inputs(subscription: Subscription) -> ReviewInputs:
    """One subscription's review inputs, under its row lock (a sales order can't change the seats
    under the review); the daily job loads many at once (``review_inputs.load_review_inputs``)."""
    lock(subscription)
    return load_review_inputs([subscription], seat_link_ids([subscription]))[subscription.id]


def review_due_quarters(
    subscription: Subscription,
    now: dt.datetime,
    *,
    include_last: bool = False,
    inputs: ReviewInputs | None = None,
    writes: ReviewWrites | None = None,
) -> list[ReviewRow]:
    """R34: review every ended quarter of the current term not yet reviewed, in order, once.

    With Seat Link the quarter is reviewed from the daily counts on the day it ends. Without
    it, from the sales check-in for that quarter; a quarter with no check-in waits for one
    until the next quarter ends, then is recorded as ``no_data`` (nothing charged). A quarterly
    charge raises the licensed seats, issues a new license and mails it to the contact.
    ``include_last`` (at the term's end) also records the last quarter, whose overage is never
    charged (``last_quarter_not_charged``), so support and the chart can see it. ``inputs``
    and ``writes``: the caller's (the daily job: subscriptions locked, their inputs loaded
    together, written together); else loaded and written here.
    """
    if not billed(subscription) or annual_by_contract(subscription):
        return []
    today = now.date()
    term = current_term(subscription)
    if term.starts_on < QUARTERLY_REVIEW_EFFECTIVE_ON:
        return []  # R35: reviewed annually until renewed on or after 2020-06-15
    inputs = inputs or review_inputs(subscription)
    pending = writes or ReviewWrites()
    seat_link = inputs.seat_link
    quarters = term_quarters(term)
    done = {(r.period_starts_on, r.period_ends_on) for r in inputs.reviews}
    check_ins = inputs.check_ins
    sub_term = subscription_term(subscription, reviews=inputs.reviews)
    collection = collection_for(has_seat_link=seat_link)
    known_since = subscription.created_at.date()
    stored: list[ReviewRow] = []
    reviewed = quarters if include_last else quarters[:-1]
    for index, quarter in enumerate(reviewed):
        last = index == len(quarters) - 1
        if quarter.ends_on > today:
            break
        if (quarter.starts_on, quarter.ends_on) in done or quarter.ends_on <= known_since:
            continue  # reviewed, or ended before the portal knew the subscription
        check_in = check_in_for(check_ins, quarter)
        if seat_link:
            utilization = inputs.utilization(quarter)
        elif check_in is not None:
            utilization = reported_utilization(quarter, check_in.reported_maximum)
        elif last:
            break  # nothing reported for the last quarter: nothing to record
        elif quarters[index + 1].ends_on <= today:
            utilization = seat_utilization(quarter, ())  # never reported: no data
        else:
            break  # wait for sales to enter the check-in
        review = review_quarter_utilization(
            sub_term,
            quarter,
            utilization,
            licensed_seats=subscription.seats,
            collection=collection,
        )
        row = store_review(subscription, term, review, now)
        stored.append(row)
        inputs.reviews.append(row)
        pending.review(row)
        invoice = quarterly_review_invoice(subscription.name, review)
        if invoice is not None and review.charge_state is not None:
            pending.invoice(subscription, invoice, row, state=review.charge_state.value)
        if review.issues_new_license:
            subscription.seats = review.licensed_seats_after
            pending.new_license(
                subscription,
                f"Your {quarter.label} quarterly seat review found {review.overage} users over "
                f"the {review.licensed_seats} licensed: your subscription now has "
                f"{subscription.seats} seats.",
            )
    if writes is None:
        pending.write(now)
    return stored


def review_due_years(
    subscription: Subscription,
    now: dt.datetime,
    *,
    at_term_end: bool = False,
    inputs: ReviewInputs | None = None,
    writes: ReviewWrites | None = None,
) -> list[AnnualReview]:
    """R35: review every ended year of the current term not yet reviewed, in order, once.

    A year is reviewed from the sales check-in for it (or for the term), else from the daily
    counts of Seat Link. A year that ends before the term does is reviewed on the day it ends
    and its overage invoiced at once, at list price for that year (the policy: "annually in
    the case of contract terms greater than 12 months"); without Seat Link it waits for a
    check-in until the term ends. The term's last year is reviewed only ``at_term_end``, by the
    renewal, which invoices the reviews returned with it (and so do the years still waiting).
    """
    if not billed(subscription):
        return []
    today = now.date()
    term = current_term(subscription)
    inputs = inputs or review_inputs(subscription)
    pending = writes or ReviewWrites()
    seat_link = inputs.seat_link
    done = {
        (r.period_starts_on, r.period_ends_on)
        for r in inputs.reviews
        if r.kind == SeatReviewKind.ANNUAL
    }
    check_ins = inputs.check_ins
    sub_term = subscription_term(subscription, reviews=inputs.reviews)
    known_since = subscription.created_at.date()
    reviewed: list[AnnualReview] = []
    for year in review_years(term):
        if year.ends_on > today or (year.ends_on == term.ends_on and not at_term_end):
            break
        if (year.starts_on, year.ends_on) in done or year.ends_on <= known_since:
            continue  # reviewed, or ended before the portal knew the subscription
        check_in = check_in_for(check_ins, year)
        if check_in is not None:
            utilization = reported_utilization(year, check_in.reported_maximum)
        elif seat_link or at_term_end:
            utilization = inputs.utilization(year)
        else:
            break  # wait for sales to enter the check-in, until the term ends
        review = review_year_utilization(
            sub_term, year, utilization, licensed_seats=subscription.seats
        )
        row = store_review(subscription, term, review, now)
        reviewed.append(review)
        inputs.reviews.append(row)
        pending.review(row)
        if not at_term_end:
            invoice = annual_review_invoice(subscription.name, (review,), issued_on=year.ends_on)
            if invoice is not None:
                pending.invoice(subscription, invoice, row)
    if writes is None:
        pending.write(now)
    return reviewed
