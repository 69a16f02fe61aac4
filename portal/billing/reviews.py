"""Seat usage, seat reviews, renewals and invoices: the billing core (``portal.billing``) wired
to the portal's tables. The formulas and both worked examples are in docs/billing.md.

Rules held here:
- R32: seat usage comes from the daily counts the instance reports with every sync (Seat Link,
  ``usage_history``) or, without it, from sales check-ins entered in the support console.
- R33: a period's utilization is its maximum daily count, measured on its last day (the core).
- R34: ``review_due_quarters`` reviews each ended quarter but the last, once: the overage is
  charged prorated to the end of the term; with Seat Link it is invoiced at once, without it an
  order amendment is sent first (``accept_amendment`` then invoices it). The licensed seats rise
  and a new license is issued and mailed to the contact.
- R35: at the end of a term not reviewed quarterly, the annual review charges the overage at full
  list price for the prior term, invoiced with the renewal.
- R36: ``renew_or_end`` renews a term at its end at the current active user count unless the
  customer gave notice at least 30 days before (``cancel_auto_renewal``).
- R5: a renewed add-on never has more seats than the renewed subscription; the instance removes
  assignments above the new quantity at its next sync (R28).

Where the sales ``renew`` order fits *(choice)*: it is a renewal sales negotiates ahead of the term
end, at seats sales chooses; it extends the current term by a year, so the automatic renewal of
this module (which acts only on the day a term ends) does not happen for that term, and the
extended term is reviewed as one longer term (quarters Q1..Q8, the last one never charged, an
annual review every 12 months; see docs/billing.md "Terms of another length").

Operations flush, never commit; the jobs and routes commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from portal.billing.policy import invoices as core_invoices
from portal.billing.policy import reviews as core
from portal.billing.policy.usage_chart import ChartMarker, licensed_steps, render_usage_chart
from portal.errors import Refused
from portal.licensing import notify_license_change
from portal.mail import queue_mail
from portal.models import (
    Account,
    Activation,
    AddOnPurchase,
    Invoice,
    InvoiceLine,
    InvoiceState,
    ReviewTerms,
    SalesCheckIn,
    SeatReview,
    SeatReviewKind,
    Subscription,
    SubscriptionKind,
    UsageReport,
    db,
)
from portal.pricing import format_money, yearly_price
from portal.subscriptions import lock
from protocol.license import LicenseType, Plan
from webcore.params import InvalidNumber, parse_int

log = logging.getLogger("provlab.portal.billing")

MAX_REPORTED_USERS = 10_000_000
# A sync repeats the instance's last 31 daily counts: a day is found in reports received up to
# 31 days after it, and the reading to carry into a period in reports up to 31 days before it.
REPORT_WINDOW = dt.timedelta(days=32)


@dataclass(frozen=True)
class DailyCount:
    """One day's billable user count as the portal knows it (a ``UsageReading``)."""

    day: dt.date
    billable_users: int


# -- usage (R32) ---------------------------------------------------------------------------------


def current_term(subscription: Subscription) -> core.Period:
    return core.Period(starts_on=subscription.current_term_starts_on, ends_on=subscription.ends_on)


def usage_history(
    subscription: Subscription, starts_on: dt.date, ends_on: dt.date
) -> list[DailyCount]:
    """R32: the daily billable user counts the instance reported for ``[starts_on, ends_on)``.

    Every sync repeats the last days' counts; for a day reported several times the latest report
    wins (the instance keeps the day's maximum, so a later report of a day is never lower). The
    last reading before ``starts_on`` is included, so a day without a reading can carry it (R33).
    """
    reports = db.session.execute(
        sa.select(UsageReport.daily_usage)
        .where(
            UsageReport.subscription_id == subscription.id,
            UsageReport.received_at >= _midnight(starts_on - REPORT_WINDOW),
            UsageReport.received_at < _midnight(ends_on + REPORT_WINDOW),
        )
        .order_by(UsageReport.received_at, UsageReport.id)
    ).scalars()
    counts: dict[dt.date, int] = {}
    for daily in reports:
        for item in daily or ():
            try:
                day = dt.date.fromisoformat(str(item["day"]))
                users = int(item["billable_users"])
            except (KeyError, TypeError, ValueError):
                continue  # the protocol validated it on receipt; never let one row stop billing
            if day < ends_on and users >= 0:
                counts[day] = users
    earlier = [day for day in counts if day < starts_on]
    keep = max(earlier) if earlier else None
    return [
        DailyCount(day, counts[day]) for day in sorted(counts) if day >= starts_on or day == keep
    ]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def has_seat_link(subscription: Subscription) -> bool:
    """R32: the subscription's instance is activated and shares its usage by the daily sync."""
    if subscription.license_type != LicenseType.ONLINE_CLOUD.value:
        return False
    return (
        db.session.execute(
            sa.select(Activation.id).where(Activation.subscription_id == subscription.id)
        ).first()
        is not None
    )


def check_ins_of(subscription: Subscription, term: core.Period | None = None) -> list[SalesCheckIn]:
    term = term or current_term(subscription)
    return list(
        db.session.execute(
            sa.select(SalesCheckIn)
            .where(
                SalesCheckIn.subscription_id == subscription.id,
                SalesCheckIn.period_starts_on >= term.starts_on,
                SalesCheckIn.period_ends_on <= term.ends_on,
            )
            .order_by(SalesCheckIn.period_starts_on)
        ).scalars()
    )


def _check_in_for(check_ins: Iterable[SalesCheckIn], period: core.Period) -> SalesCheckIn | None:
    for check_in in check_ins:
        if (
            check_in.period_starts_on == period.starts_on
            and check_in.period_ends_on == period.ends_on
        ):
            return check_in
    return None


def check_in_periods(subscription: Subscription) -> list[tuple[str, core.Period]]:
    """The periods of the current term a check-in can report: its quarters and the whole term."""
    term = current_term(subscription)
    periods: list[tuple[str, core.Period]] = [(q.label, q) for q in core.term_quarters(term)]
    periods.append(("Term", term))
    return periods


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
    reviewed = _review_of(subscription, period)
    if reviewed is not None:
        raise Refused(f"{period_label} was already reviewed on {reviewed.reviewed_at.date()}.")
    existing = _check_in_for(check_ins_of(subscription), period)
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


def _review_of(subscription: Subscription, period: core.Period) -> SeatReview | None:
    return db.session.execute(
        sa.select(SeatReview).where(
            SeatReview.subscription_id == subscription.id,
            SeatReview.period_starts_on == period.starts_on,
            SeatReview.period_ends_on == period.ends_on,
        )
    ).scalar_one_or_none()


def reviews_of(subscription: Subscription, term: core.Period | None = None) -> list[SeatReview]:
    term = term or current_term(subscription)
    return list(
        db.session.execute(
            sa.select(SeatReview)
            .where(
                SeatReview.subscription_id == subscription.id,
                SeatReview.term_starts_on == term.starts_on,
            )
            .order_by(SeatReview.period_starts_on, SeatReview.id)
        ).scalars()
    )


# -- which review, at what price -----------------------------------------------------------------


def billed(subscription: Subscription) -> bool:
    """Seat reviews and renewals apply to paid subscriptions on a priced plan."""
    return subscription.kind == SubscriptionKind.PAID and Plan(subscription.plan) is not Plan.FREE


def review_cycle(subscription: Subscription) -> core.ReviewCycle:
    """R34, R35: quarterly for quarterly terms from 2020-06-15 sharing usage; else annual."""
    if subscription.review_terms == ReviewTerms.ANNUAL:
        return core.ReviewCycle.ANNUAL
    term = current_term(subscription)
    quarters = [(q.starts_on, q.ends_on) for q in core.term_quarters(term)]
    quarterly_check_ins = any(
        (c.period_starts_on, c.period_ends_on) in quarters for c in check_ins_of(subscription)
    )
    return core.choose_review_cycle(
        term.starts_on,
        has_seat_link=has_seat_link(subscription),
        has_sales_check_ins=quarterly_check_ins,
    )


def subscription_term(subscription: Subscription, *, priced: bool = True) -> core.SubscriptionTerm:
    """The core's view of the current term; ``seats`` is the count licensed at its start.

    ``priced=False`` (the chart) needs no list price, so a plan missing from PRICE_LIST can't
    break a page.
    """
    raised = sum(
        r.overage
        for r in reviews_of(subscription)
        if r.kind == SeatReviewKind.QUARTERLY and r.outcome == core.ReviewOutcome.CHARGED
    )
    return core.SubscriptionTerm(
        term=current_term(subscription),
        seats=max(subscription.seats - raised, 1),
        list_price_cents=yearly_price(subscription.plan) if priced else 0,
    )


# -- invoices ------------------------------------------------------------------------------------


def store_invoice(
    subscription: Subscription,
    invoice: core_invoices.Invoice,
    now: dt.datetime,
    *,
    state: str = InvoiceState.INVOICED,
    review: SeatReview | None = None,
) -> Invoice:
    """Keep an invoice of the core with its line items, and mail it (or its amendment)."""
    row = Invoice(
        subscription_id=subscription.id,
        kind=invoice.kind.value,
        issued_on=invoice.issued_on,
        issued_at=now,
        state=state,
        total_cents=invoice.total_cents,
        seat_review_id=review.id if review else None,
        invoiced_at=now if state == InvoiceState.INVOICED else None,
    )
    db.session.add(row)
    db.session.flush()
    for position, item in enumerate(invoice.line_items, start=1):
        db.session.add(
            InvoiceLine(
                invoice_id=row.id,
                position=position,
                description=item.description,
                seats=item.seats,
                period_starts_on=item.period_starts_on,
                period_ends_on=item.period_ends_on,
                unit_price_cents=item.unit_price_cents,
                prorated_days=item.prorated_days,
                basis_days=item.basis_days,
                amount_cents=item.amount_cents,
            )
        )
    db.session.flush()
    _mail_invoice(subscription, row, invoice)
    return row


def _mail_invoice(subscription: Subscription, row: Invoice, invoice: core_invoices.Invoice) -> None:
    lines = "\n".join(
        f"- {item.description}: {item.seats} x {format_money(item.unit_price_cents)} x "
        f"{item.proration_label} = {format_money(item.amount_cents)}"
        for item in invoice.line_items
    )
    if row.state == InvoiceState.AMENDMENT_SENT:
        subject = f"Order amendment for {subscription.name}: {invoice.kind.label}"
        intro = (
            "Your quarterly seat review found more users than your subscription licenses. "
            "Please review and accept this order amendment; the invoice follows once accepted."
        )
        kind = "order_amendment"
    else:
        subject = f"Invoice {row.number} for {subscription.name}: {invoice.kind.label}"
        intro = f"Invoice {row.number}, issued {invoice.issued_on}."
        kind = "invoice"
    queue_mail(
        kind, subscription, subject, f"{intro}\n\n{lines}\n\nTotal: {format_money(row.total_cents)}"
    )


def accept_amendment(invoice: Invoice, now: dt.datetime) -> Invoice:
    """R34 without Seat Link: the customer accepted the order amendment; it is now invoiced."""
    try:
        state = core.next_charge_state(
            core.ChargeState(invoice.state), core.ChargeEvent.AMENDMENT_ACCEPTED
        )
    except core_invoices.BillingError:
        raise Refused(f"Invoice {invoice.number} is not waiting for an order amendment.") from None
    invoice.state = state.value
    invoice.invoiced_at = now
    db.session.flush()
    queue_mail(
        "invoice",
        invoice.subscription,
        f"Invoice {invoice.number} for {invoice.subscription.name}",
        f"Thank you for accepting the order amendment. Invoice {invoice.number}: "
        f"{format_money(invoice.total_cents)}.",
    )
    return invoice


def invoices_of(subscription: Subscription) -> list[Invoice]:
    return list(
        db.session.execute(
            sa.select(Invoice)
            .where(Invoice.subscription_id == subscription.id)
            .order_by(Invoice.issued_on.desc(), Invoice.id.desc())
        ).scalars()
    )


def all_invoices(limit: int = 500) -> list[Invoice]:
    return list(
        db.session.execute(
            sa.select(Invoice).order_by(Invoice.issued_on.desc(), Invoice.id.desc()).limit(limit)
        ).scalars()
    )


# -- the quarterly seat review (R34) -------------------------------------------------------------


def _store_review(
    subscription: Subscription,
    term: core.Period,
    review: core.QuarterlyReview | core.AnnualReview,
    now: dt.datetime,
) -> SeatReview:
    quarterly = isinstance(review, core.QuarterlyReview)
    period = review.quarter if isinstance(review, core.QuarterlyReview) else review.period
    row = SeatReview(
        subscription_id=subscription.id,
        kind=SeatReviewKind.QUARTERLY if quarterly else SeatReviewKind.ANNUAL,
        label=review.quarter.label if isinstance(review, core.QuarterlyReview) else "Term",
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
    db.session.add(row)
    db.session.flush()
    return row


def review_due_quarters(
    subscription: Subscription, now: dt.datetime, *, include_last: bool = False
) -> list[SeatReview]:
    """R34: review every ended quarter of the current term not yet reviewed, in order, once.

    With Seat Link the quarter is reviewed from the daily counts on the day it ends. Without
    it, from the sales check-in for that quarter; a quarter with no check-in waits for one
    until the next quarter ends, then is recorded as ``no_data`` (nothing charged). A quarterly
    charge raises the licensed seats, issues a new license and mails it to the contact.
    ``include_last`` (at the term's end) also records the last quarter, whose overage is never
    charged (``last_quarter_not_charged``), so support and the chart can see it.
    """
    if not billed(subscription) or review_cycle_is_annual_by_contract(subscription):
        return []
    today = now.date()
    term = current_term(subscription)
    if term.starts_on < core.QUARTERLY_REVIEW_EFFECTIVE_ON:
        return []  # R35: reviewed annually until renewed on or after 2020-06-15
    lock(subscription)  # a sales order can't change the seats under the review
    seat_link = has_seat_link(subscription)
    quarters = core.term_quarters(term)
    done = {(r.period_starts_on, r.period_ends_on) for r in reviews_of(subscription, term)}
    check_ins = check_ins_of(subscription, term)
    sub_term = subscription_term(subscription)
    collection = core.collection_for(has_seat_link=seat_link)
    known_since = subscription.created_at.date()
    stored: list[SeatReview] = []
    reviewed = quarters if include_last else quarters[:-1]
    for index, quarter in enumerate(reviewed):
        last = index == len(quarters) - 1
        if quarter.ends_on > today:
            break
        if (quarter.starts_on, quarter.ends_on) in done or quarter.ends_on <= known_since:
            continue  # reviewed, or ended before the portal knew the subscription
        check_in = _check_in_for(check_ins, quarter)
        if seat_link:
            utilization = core.seat_utilization(
                quarter, usage_history(subscription, quarter.starts_on, quarter.ends_on)
            )
        elif check_in is not None:
            utilization = core.reported_utilization(quarter, check_in.reported_maximum)
        elif last:
            break  # nothing reported for the last quarter: nothing to record
        elif quarters[index + 1].ends_on <= today:
            utilization = core.seat_utilization(quarter, ())  # never reported: no data
        else:
            break  # wait for sales to enter the check-in
        review = core.review_quarter_utilization(
            sub_term,
            quarter,
            utilization,
            licensed_seats=subscription.seats,
            collection=collection,
        )
        row = _store_review(subscription, term, review, now)
        stored.append(row)
        invoice = core.quarterly_review_invoice(subscription.name, review)
        if invoice is not None and review.charge_state is not None:
            store_invoice(subscription, invoice, now, state=review.charge_state.value, review=row)
        if review.issues_new_license:
            subscription.seats = review.licensed_seats_after
            db.session.flush()
            _send_new_license(
                subscription,
                now,
                f"Your {quarter.label} quarterly seat review found {review.overage} users over "
                f"the {review.licensed_seats} licensed: your subscription now has "
                f"{subscription.seats} seats.",
            )
    return stored


def review_cycle_is_annual_by_contract(subscription: Subscription) -> bool:
    return subscription.review_terms == ReviewTerms.ANNUAL


def _send_new_license(subscription: Subscription, now: dt.datetime, why: str) -> None:
    """R34: each adjustment sends the contact a new license.

    A license file (offline, legacy) is attached; an online cloud license reaches the instance at
    its next sync, and the mail says so.
    """
    if subscription.license_type == LicenseType.ONLINE_CLOUD.value:
        queue_mail(
            "license",
            subscription,
            f"Your new GitLab license for {subscription.name}",
            f"{why}\n\nYour new license ({subscription.seats} seats, until "
            f"{subscription.ends_on}) reaches your instance at its next daily sync, or at once "
            "with Admin > Subscription > Synchronize subscription.",
        )
    else:
        notify_license_change(subscription, now, why)


# -- renewal (R35, R36) --------------------------------------------------------------------------


def cancel_auto_renewal(
    subscription: Subscription, today: dt.date
) -> core.Renewal | core.Cancellation:
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
    return core.decide_renewal(
        renews_on=subscription.ends_on, active_users=1, cancellation_notified_on=today
    )


def _annual_reviews(
    subscription: Subscription, sub_term: core.SubscriptionTerm
) -> tuple[core.AnnualReview, ...]:
    """R35: the term's annual reviews, from daily counts or a sales check-in for the term."""
    term = sub_term.term
    check_in = _check_in_for(check_ins_of(subscription, term), term)
    if check_in is not None and len(core.review_years(term)) == 1:
        return (
            core.review_year_utilization(
                sub_term,
                term,
                core.reported_utilization(term, check_in.reported_maximum),
                licensed_seats=subscription.seats,
            ),
        )
    usage = usage_history(subscription, term.starts_on, term.ends_on)
    return core.annual_seat_reviews(sub_term, usage)


def active_users_at_end(subscription: Subscription) -> int:
    """R36: the active user count on the term's last day (else a check-in, else the seats)."""
    term = current_term(subscription)
    usage = usage_history(subscription, term.last_day, term.ends_on)
    active = core.active_users_on(term.last_day, usage)
    if active is not None:
        return active
    reported = [c for c in check_ins_of(subscription, term) if c.period_ends_on == term.ends_on]
    if reported:
        return reported[-1].reported_maximum
    return subscription.seats


def renew_or_end(subscription: Subscription, now: dt.datetime) -> Invoice | None:
    """R35, R36: at the end of the term, renew at the active count or end (notice in time).

    The annual review (for terms not reviewed quarterly) is stored and its overage invoiced with
    the renewal; a cancelled term's overage is invoiced alone. Returns the invoice, if any.
    """
    lock(subscription)
    term = current_term(subscription)
    sub_term = subscription_term(subscription)
    annual: tuple[core.AnnualReview, ...] = ()
    if review_cycle(subscription) is core.ReviewCycle.ANNUAL:
        annual = _annual_reviews(subscription, sub_term)
        for review in annual:
            if _review_of(subscription, review.period) is None:
                _store_review(subscription, term, review, now)
    notice = subscription.cancellation_notified_on
    if notice is None and not subscription.auto_renew:
        notice = term.starts_on  # renewal turned off at purchase: notice long given
    decision = core.decide_renewal(
        renews_on=term.ends_on,
        active_users=active_users_at_end(subscription),
        cancellation_notified_on=notice,
    )
    if isinstance(decision, core.Cancellation):
        subscription.ended_on = term.ends_on
        db.session.flush()
        final = core.final_review_invoice(subscription.name, decision, annual)
        return store_invoice(subscription, final, now) if final else None
    invoice = core.renewal_invoice(
        subscription.name,
        decision,
        list_price_cents=sub_term.list_price_cents,
        annual_reviews=annual,
    )
    add_on_lines = _renew_add_ons(subscription, decision, now)
    if add_on_lines:
        invoice = core_invoices.Invoice(
            subscription_name=invoice.subscription_name,
            kind=invoice.kind,
            issued_on=invoice.issued_on,
            line_items=(*invoice.line_items, *add_on_lines),
        )
    subscription.term_starts_on = decision.new_term.starts_on
    subscription.ends_on = decision.new_term.ends_on
    subscription.seats = decision.seats
    subscription.cancellation_notified_on = None
    subscription.auto_renew = True
    db.session.flush()
    row = store_invoice(subscription, invoice, now)
    _send_new_license(
        subscription,
        now,
        f"Your subscription renewed for {decision.seats} seats, your active user count, from "
        f"{decision.new_term.starts_on} to {decision.new_term.ends_on}.",
    )
    return row


def _renew_add_ons(
    subscription: Subscription, renewal: core.Renewal, now: dt.datetime
) -> list[core_invoices.LineItem]:
    """The paid add-on renews with the subscription, at most at the renewed seats (R5, R28)."""
    old_end = renewal.renews_on
    for running in subscription.add_on_purchases:
        if running.ends_on > old_end and running.quantity > renewal.seats:
            running.quantity = renewal.seats  # R5: e.g. a trial running past the renewal
    ending = [
        p
        for p in subscription.add_on_purchases
        if p.ends_on == old_end and not p.trial and p.ends_on > p.starts_on
    ]
    if not ending:
        return []
    last = ending[-1]
    quantity = min(last.quantity, renewal.seats)
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
    term = renewal.new_term
    return [
        core_invoices.LineItem(
            description=f"Renewal: {quantity} add-on seats ({last.tier.replace('_', ' ')})",
            seats=quantity,
            period_starts_on=term.starts_on,
            period_ends_on=term.ends_on,
            unit_price_cents=yearly_price(last.tier),
            prorated_days=term.days,
            basis_days=core.year_days(term.starts_on),
        )
    ]


# -- the jobs' bodies ----------------------------------------------------------------------------


def run_seat_reviews(now: dt.datetime) -> int:
    """R34: the daily quarterly review of every subscription with a quarter that has ended.

    Most days no quarter ends: the quarters due are worked out from the dates alone, and only a
    subscription with a due quarter not yet reviewed is loaded further.
    """
    today = now.date()
    candidates = (
        db.session.execute(
            sa.select(Subscription).where(
                Subscription.kind == SubscriptionKind.PAID,
                Subscription.review_terms == ReviewTerms.QUARTERLY,
                Subscription.ends_on > today,
                Subscription.starts_on < today,
            )
        )
        .scalars()
        .all()
    )
    reviewed: dict[int, set[dt.date]] = {}
    for subscription_id, period_starts_on in db.session.execute(
        sa.select(SeatReview.subscription_id, SeatReview.period_starts_on).where(
            SeatReview.kind == SeatReviewKind.QUARTERLY,
            SeatReview.period_ends_on > today - dt.timedelta(days=400),
        )
    ):
        reviewed.setdefault(subscription_id, set()).add(period_starts_on)
    count = 0
    for subscription in candidates:
        known_since = subscription.created_at.date()
        due = [
            q.starts_on
            for q in core.term_quarters(current_term(subscription))[:-1]
            if known_since < q.ends_on <= today
        ]
        if set(due) - reviewed.get(subscription.id, set()):
            count += _isolated(
                subscription, "seat review", lambda s=subscription: review_due_quarters(s, now)
            )
    return count


def _isolated(subscription: Subscription, what: str, work: Callable[[], object]) -> bool:
    """Run one subscription's billing in a savepoint: a subscription that can't be billed (a
    plan missing from PRICE_LIST, bad data) is logged for support and the others go on."""
    try:
        with db.session.begin_nested():
            work()
    except (ValueError, Refused) as exc:
        log.error("%s of %s failed: %s", what, subscription.name, exc)
        return False
    return True


def run_renewals(now: dt.datetime) -> int:
    """R35, R36: renew or end every subscription whose term ended by today."""
    today = now.date()
    due = (
        db.session.execute(
            sa.select(Subscription)
            .where(
                Subscription.kind == SubscriptionKind.PAID,
                Subscription.ends_on <= today,
                Subscription.ended_on.is_(None),
            )
            .order_by(Subscription.id)
        )
        .scalars()
        .all()
    )
    done = 0
    for subscription in due:
        if not billed(subscription) or subscription.ends_on <= subscription.created_at.date():
            continue  # entered already expired: the portal never held its renewal
        # A term a job missed (the portal was down) is still renewed, one term at a time.
        while subscription.ended_on is None and subscription.ends_on <= today:
            if not _isolated(subscription, "renewal", lambda s=subscription: _end_of_term(s, now)):
                break
            done += 1
    return done


def _end_of_term(subscription: Subscription, now: dt.datetime) -> None:
    review_due_quarters(subscription, now, include_last=True)
    renew_or_end(subscription, now)


# -- the usage chart -----------------------------------------------------------------------------


def usage_chart_svg(subscription: Subscription, chart_id: str = "usage-chart") -> str | None:
    """The term's chart: daily counts, licensed seats, quarter boundaries, review maxima."""
    if not billed(subscription):
        return None
    term = current_term(subscription)
    sub_term = subscription_term(subscription, priced=False)
    usage = usage_history(subscription, term.starts_on, term.ends_on)
    reviews = reviews_of(subscription, term)
    steps = _licensed_steps(sub_term, reviews)
    markers = [
        ChartMarker(
            day=r.peak_day or (r.period_ends_on - dt.timedelta(days=1)),
            users=r.measured_maximum,
            label=f"{r.label} max {r.measured_maximum}"
            + (f", {r.overage} charged" if r.outcome == core.ReviewOutcome.CHARGED else "")
            + (
                f", {r.overage} over, not charged"
                if r.outcome == core.ReviewOutcome.LAST_QUARTER_NOT_CHARGED
                else ""
            ),
        )
        for r in reviews
        if r.measured_maximum is not None
    ]
    return render_usage_chart(
        term=term,
        usage=usage,
        licensed=steps,
        markers=tuple(markers),
        title=f"Seat usage of {subscription.name}, {term.starts_on} to {term.last_day}",
        summary=f"{len(usage)} daily readings; {subscription.seats} seats licensed now.",
        chart_id=chart_id,
    )


def _licensed_steps(
    sub_term: core.SubscriptionTerm, reviews: Sequence[SeatReview]
) -> tuple[tuple[dt.date, int], ...]:
    steps = list(licensed_steps(sub_term))
    for review in reviews:
        if review.outcome == core.ReviewOutcome.CHARGED and review.kind == SeatReviewKind.QUARTERLY:
            steps.append((review.period_ends_on, steps[-1][1] + review.overage))
    return tuple(steps)
