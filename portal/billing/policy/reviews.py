# Seat reviews: which review applies, the quarterly seat review and the annual seat review.
#
# Rules this module enforces (the formulas are written out, with worked examples, in
# docs/billing.md):
# - R34 Quarterly seat review, for terms started or renewed on or after 2020-06-15 that share
#   usage data (Seat Link or sales check-ins): at the end of each quarter but the last, the
#   overage is the utilization above the seats licensed at that time, charged at list price
#   prorated by days from the end of that quarter to the end of the term. Nothing is charged for
#   the quarter the users were added in (the charge starts where that quarter ends); an overage in
#   the last quarter (Q4) is never charged. After a charge the licensed count rises by the
#   overage, so the same users are never charged twice. With Seat Link the charge is invoiced at
#   once; without it an order amendment comes first, then the invoice.
#   A term longer than 12 months *(choice)* is reviewed year by year as seeds/004 describes one
#   year: the last quarter of each year (its Q4) is never charged, and a charge runs to the end
#   of the term ("the remaining time in your subscription"), one line per year of the term, each
#   priced by that year's days.
# - R35 Annual seat review, for terms started before 2020-06-15 or not sharing quarterly data: at
#   renewal, the utilization of the whole term above the licensed seats is charged at the full
#   list price of the term (not prorated), invoiced with the renewal. A term longer than 12
#   months is reviewed at the end of each year, each year's overage invoiced then.
#
# Money is integer cents (see invoices.py).
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from portal.billing.policy.calendar import (
    Period,
    Quarter,
    ReviewYear,
    review_years,
    term_quarters,
    year_days,
)
from portal.billing.policy.invoices import (
    BillingError,
    Invoice,
    InvoiceKind,
    LineItem,
    check_count,
    check_day,
)
from portal.billing.policy.utilization import (
    SeatUtilization,
    SubscriptionTerm,
    UsageReading,
    seat_utilization,
)

__all__ = [
    "QUARTERLY_REVIEW_EFFECTIVE_ON",
    "AnnualReview",
    "ChargeEvent",
    "ChargeState",
    "Collection",
    "QuarterlyReview",
    "ReviewCycle",
    "ReviewOutcome",
    "annual_seat_reviews",
    "choose_review_cycle",
    "collection_for",
    "first_charge_state",
    "next_charge_state",
    "quarterly_review_invoice",
    "quarterly_seat_reviews",
    "review_quarter",
    "review_quarter_utilization",
    "review_year",
    "review_year_utilization",
]

QUARTERLY_REVIEW_EFFECTIVE_ON = date(2020, 6, 15)
"""Terms started or renewed on or after this day may be reviewed quarterly (R34)."""


class ReviewCycle(enum.StrEnum):
    QUARTERLY = "quarterly"  # R34
    ANNUAL = "annual"  # R35


class Collection(enum.StrEnum):
    """How a quarterly charge reaches the customer (R34)."""

    AUTOMATIC = "automatic"  # Seat Link: the card is billed and the invoice sent at once
    ORDER_AMENDMENT = "order_amendment"  # sales check-ins: an order amendment, then the invoice


def choose_review_cycle(
    term_starts_on: date, *, has_seat_link: bool, has_sales_check_ins: bool
) -> ReviewCycle:
    """Quarterly or annual review for the term that started (or renewed) on ``term_starts_on``.

    R34: quarterly when the term began on or after 2020-06-15 and the customer shares quarterly
    usage, by Seat Link or by sales check-ins. R35: annual otherwise, including a customer who
    neither enables Seat Link nor reports usage. A subscription created earlier moves to the
    quarterly review at its first renewal on or after that day.
    """
    check_day("term_starts_on", term_starts_on)
    shares_quarterly_data = bool(has_seat_link) or bool(has_sales_check_ins)
    if term_starts_on >= QUARTERLY_REVIEW_EFFECTIVE_ON and shares_quarterly_data:
        return ReviewCycle.QUARTERLY
    return ReviewCycle.ANNUAL


def collection_for(*, has_seat_link: bool) -> Collection:
    """R34: usage from Seat Link is billed automatically; sales check-ins need an amendment."""
    return Collection.AUTOMATIC if has_seat_link else Collection.ORDER_AMENDMENT


class ChargeState(enum.StrEnum):
    AMENDMENT_SENT = "amendment_sent"  # waiting for the customer to accept the order amendment
    INVOICED = "invoiced"


class ChargeEvent(enum.StrEnum):
    AMENDMENT_ACCEPTED = "amendment_accepted"


_CHARGE_TRANSITIONS: dict[tuple[ChargeState, ChargeEvent], ChargeState] = {
    (ChargeState.AMENDMENT_SENT, ChargeEvent.AMENDMENT_ACCEPTED): ChargeState.INVOICED,
}


def first_charge_state(collection: Collection) -> ChargeState:
    """Where a new quarterly charge starts (R34)."""
    if collection is Collection.AUTOMATIC:
        return ChargeState.INVOICED
    return ChargeState.AMENDMENT_SENT


def next_charge_state(state: ChargeState, event: ChargeEvent) -> ChargeState:
    """The state after ``event``; an event the state does not expect is an error."""
    try:
        return _CHARGE_TRANSITIONS[(state, event)]
    except KeyError:
        raise BillingError(f"charge: {event.value} is not possible when {state.value}") from None


# -- quarterly seat review (R34) ------------------------------------------------------------------


class ReviewOutcome(enum.StrEnum):
    NO_OVERAGE = "no_overage"
    CHARGED = "charged"
    LAST_QUARTER_NOT_CHARGED = "last_quarter_not_charged"  # a Q4 overage (of any year): never
    NO_DATA = "no_data"  # no usage reading at all: nothing to review


@dataclass(frozen=True, kw_only=True)
class QuarterlyReview:
    """The review at the end of one quarter (R34)."""

    quarter: Quarter
    utilization: SeatUtilization
    licensed_seats: int  # licensed at the end of the quarter, before this review
    overage: int  # users above licensed_seats, charged or not
    outcome: ReviewOutcome
    collection: Collection | None  # None unless charged
    line_items: tuple[LineItem, ...]  # empty unless charged; one per year of the term charged

    @property
    def charge_cents(self) -> int:
        return sum(item.amount_cents for item in self.line_items)

    @property
    def licensed_seats_after(self) -> int:
        """The licensed count from the end of the quarter: it rises by a charged overage."""
        return self.licensed_seats + (self.overage if self.outcome is ReviewOutcome.CHARGED else 0)

    @property
    def issues_new_license(self) -> bool:
        """R34: each quarterly adjustment sends the contact a new license."""
        return self.outcome is ReviewOutcome.CHARGED

    @property
    def charge_state(self) -> ChargeState | None:
        return first_charge_state(self.collection) if self.collection else None


def review_quarter(
    subscription: SubscriptionTerm,
    quarter: Quarter,
    usage: Iterable[UsageReading],
    *,
    licensed_seats: int,
    collection: Collection,
) -> QuarterlyReview:
    """Review one quarter of ``subscription``'s term from daily readings (R33, R34).

    Due on ``quarter.ends_on``. ``licensed_seats`` is the licensed count at the end of the quarter
    (the subscription's seats after earlier reviews and purchases). The charge, for the overage,
    runs from the end of the quarter to the end of the term:
    ``overage x list price x days left / days of the year``.
    """
    return review_quarter_utilization(
        subscription,
        quarter,
        seat_utilization(quarter, usage),
        licensed_seats=licensed_seats,
        collection=collection,
    )


def review_quarter_utilization(
    subscription: SubscriptionTerm,
    quarter: Quarter,
    utilization: SeatUtilization,
    *,
    licensed_seats: int,
    collection: Collection,
) -> QuarterlyReview:
    """Review one quarter from a utilization already known (R34).

    For a customer without Seat Link, pass ``reported_utilization(quarter, maximum)`` from the
    sales check-in and ``Collection.ORDER_AMENDMENT``.
    """
    term = subscription.term
    if quarter not in term_quarters(term):
        raise BillingError("quarter: not a quarter of this subscription's term")
    if not isinstance(utilization, SeatUtilization) or not utilization.period.same_days(quarter):
        raise BillingError("utilization: must be the utilization of this quarter")
    check_count("licensed_seats", licensed_seats, minimum=1)
    if not isinstance(collection, Collection):
        raise BillingError("collection: expected a Collection")
    if utilization.maximum is None:
        return QuarterlyReview(
            quarter=quarter,
            utilization=utilization,
            licensed_seats=licensed_seats,
            overage=0,
            outcome=ReviewOutcome.NO_DATA,
            collection=None,
            line_items=(),
        )
    overage = max(utilization.maximum - licensed_seats, 0)
    if overage == 0:
        outcome = ReviewOutcome.NO_OVERAGE
    elif quarter.closes_year:
        outcome = ReviewOutcome.LAST_QUARTER_NOT_CHARGED
    else:
        outcome = ReviewOutcome.CHARGED
    line_items: tuple[LineItem, ...] = ()
    if outcome is ReviewOutcome.CHARGED:
        line_items = _quarterly_charge(subscription, quarter, overage, licensed_seats)
    return QuarterlyReview(
        quarter=quarter,
        utilization=utilization,
        licensed_seats=licensed_seats,
        overage=overage,
        outcome=outcome,
        collection=collection if line_items else None,
        line_items=line_items,
    )


def _quarterly_charge(
    subscription: SubscriptionTerm, quarter: Quarter, overage: int, licensed_seats: int
) -> tuple[LineItem, ...]:
    # From the end of the quarter to the end of the term, one line per year of the term: each
    # year is priced by its own days (365 or 366), so a charge over a leap year is exact and
    # each line can be redone by hand. A 12-month term has one line, as seeds/004 shows.
    term = subscription.term
    years = [y for y in review_years(term) if y.ends_on > quarter.ends_on]
    lines = []
    for year in years:
        starts_on = max(year.starts_on, quarter.ends_on)
        what = (
            "prorated to the end of the term"
            if len(years) == 1
            else f"for {year.label.lower()} of the term"
        )
        lines.append(
            LineItem(
                description=(
                    f"Quarterly seat review {quarter.label}: {overage} users over the "
                    f"{licensed_seats} licensed, {what}"
                ),
                seats=overage,
                period_starts_on=starts_on,
                period_ends_on=year.ends_on,
                unit_price_cents=subscription.list_price_cents,
                prorated_days=(year.ends_on - starts_on).days,
                basis_days=year_days(year.starts_on),
            )
        )
    return tuple(lines)


def quarterly_seat_reviews(
    subscription: SubscriptionTerm,
    usage: Iterable[UsageReading],
    *,
    collection: Collection,
    as_of: date | None = None,
) -> tuple[QuarterlyReview, ...]:
    """The reviews of every quarter of the term that has ended by ``as_of`` (default: all).

    Each review sees the licensed count of its time: the term's seats, the seats bought up to
    the quarter's last day, and the overages charged by the reviews before it (R34).
    """
    readings = tuple(usage)
    reviews: list[QuarterlyReview] = []
    raised = 0
    for quarter in term_quarters(subscription.term):
        if as_of is not None and quarter.ends_on > as_of:
            break
        licensed = (
            subscription.seats + subscription.purchased_seats_through(quarter.last_day) + raised
        )
        review = review_quarter(
            subscription, quarter, readings, licensed_seats=licensed, collection=collection
        )
        raised += review.licensed_seats_after - review.licensed_seats
        reviews.append(review)
    return tuple(reviews)


def quarterly_review_invoice(subscription_name: str, review: QuarterlyReview) -> Invoice | None:
    """The invoice of a charged quarterly review, dated the day after the quarter; else None."""
    if not review.line_items:
        return None
    return Invoice(
        subscription_name=subscription_name,
        kind=InvoiceKind.QUARTERLY_SEAT_REVIEW,
        issued_on=review.quarter.ends_on,
        line_items=review.line_items,
    )


# -- annual seat review (R35) ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AnnualReview:
    """The review of one term at renewal, or of one year of a longer term at its end (R35)."""

    period: ReviewYear
    utilization: SeatUtilization
    licensed_seats: int
    overage: int
    outcome: ReviewOutcome  # NO_OVERAGE, CHARGED or NO_DATA
    line_item: LineItem | None

    @property
    def charge_cents(self) -> int:
        return self.line_item.amount_cents if self.line_item else 0


def review_year(
    subscription: SubscriptionTerm,
    period: Period,
    usage: Iterable[UsageReading],
    *,
    licensed_seats: int,
) -> AnnualReview:
    """Review ``period`` (one of ``review_years``) at its end from daily readings (R33, R35).

    The overage is charged at the full list price of the period, not prorated to when the users
    came: a 12-month period costs the annual list price per user, whatever its day count. A
    period shorter than a year (the tail of a longer term) costs its days over the year's days.
    """
    return review_year_utilization(
        subscription, period, seat_utilization(period, usage), licensed_seats=licensed_seats
    )


def review_year_utilization(
    subscription: SubscriptionTerm,
    period: Period,
    utilization: SeatUtilization,
    *,
    licensed_seats: int,
) -> AnnualReview:
    """Review ``period`` from a utilization already known, e.g. ``reported_utilization`` (R35)."""
    year = next((y for y in review_years(subscription.term) if y.same_days(period)), None)
    if year is None:
        raise BillingError("period: not a review period of this subscription's term")
    if not isinstance(utilization, SeatUtilization) or not utilization.period.same_days(period):
        raise BillingError("utilization: must be the utilization of this period")
    check_count("licensed_seats", licensed_seats, minimum=1)
    overage = max((utilization.maximum or 0) - licensed_seats, 0)
    line_item = None
    if utilization.maximum is None:
        outcome = ReviewOutcome.NO_DATA
    elif overage == 0:
        outcome = ReviewOutcome.NO_OVERAGE
    else:
        outcome = ReviewOutcome.CHARGED
        which = "the prior term" if year.number is None else f"{year.label.lower()} of the term"
        line_item = LineItem(
            description=(
                f"Annual seat review{'' if year.number is None else ' ' + year.label}: "
                f"{overage} users over the {licensed_seats} licensed, at list price for {which}"
            ),
            seats=overage,
            period_starts_on=year.starts_on,
            period_ends_on=year.ends_on,
            unit_price_cents=subscription.list_price_cents,
            prorated_days=year.days,
            basis_days=year_days(year.starts_on),
        )
    return AnnualReview(
        period=year,
        utilization=utilization,
        licensed_seats=licensed_seats,
        overage=overage,
        outcome=outcome,
        line_item=line_item,
    )


def annual_seat_reviews(
    subscription: SubscriptionTerm, usage: Iterable[UsageReading]
) -> tuple[AnnualReview, ...]:
    """The annual reviews of the term: one for a 12-month term, one per year of a longer one.

    Unlike the quarterly review, the licensed count does not rise after an annual charge: each
    year pays for its own overage, and the renewal resets the seats to the active count (R36).
    """
    readings = tuple(usage)
    return tuple(
        review_year(
            subscription,
            period,
            readings,
            licensed_seats=subscription.seats
            + subscription.purchased_seats_through(period.last_day),
        )
        for period in review_years(subscription.term)
    )
