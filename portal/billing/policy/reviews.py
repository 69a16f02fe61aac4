# Seat reviews and renewals: the billing policy (seeds/004) as pure functions over dates and counts.
#
# Rules this module enforces (the formulas are written out, with worked examples, in
# docs/billing.md):
# - R33 Seat utilization of a period is the maximum of the daily billable user counts of its days,
#   measured on its last day. A day without a reading takes the last reading before it (carried
#   forward) and is reported as missing; a period with no reading in or before it has no
#   utilization at all. A maximum reported at a sales check-in (R32) is taken as it is, for its
#   own period only.
# - R34 Quarterly seat review, for terms started or renewed on or after 2020-06-15 that share
#   usage data (Seat Link or sales check-ins): at the end of each quarter but the last, the
#   overage is the utilization above the seats licensed at that time, charged at list price
#   prorated by days from the end of that quarter to the end of the term. Nothing is charged for
#   the quarter the users were added in (the charge starts where that quarter ends); an overage in
#   the last quarter (Q4) is never charged. After a charge the licensed count rises by the
#   overage, so the same users are never charged twice. With Seat Link the charge is invoiced at
#   once; without it an order amendment comes first, then the invoice.
# - R35 Annual seat review, for terms started before 2020-06-15 or not sharing quarterly data: at
#   renewal, the utilization of the whole term above the licensed seats is charged at the full
#   list price of the term (not prorated), invoiced with the renewal.
# - R36 A subscription auto-renews at its current active user count unless the customer gave
#   notice of cancellation at least 30 days before the renewal date (exactly 30 is in time).
#
# Dates are datetime.date and periods are half-open, [starts_on, ends_on), the convention of
# subscriptions and licenses. Money is integer cents (see invoices.py).
from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from portal.billing.policy.invoices import (
    BillingError,
    Invoice,
    InvoiceKind,
    LineItem,
    check_count,
    check_day,
)

__all__ = [
    "CANCELLATION_NOTICE_DAYS",
    "QUARTERLY_REVIEW_EFFECTIVE_ON",
    "AnnualReview",
    "Cancellation",
    "ChargeEvent",
    "ChargeState",
    "Collection",
    "Period",
    "Quarter",
    "QuarterlyReview",
    "Renewal",
    "ReviewCycle",
    "ReviewOutcome",
    "SeatPurchase",
    "SeatUtilization",
    "SubscriptionTerm",
    "UsageReading",
    "UsageSource",
    "active_users_on",
    "add_months",
    "annual_seat_reviews",
    "choose_review_cycle",
    "collection_for",
    "decide_renewal",
    "final_review_invoice",
    "first_charge_state",
    "next_charge_state",
    "quarter_ending_on",
    "quarterly_review_dates",
    "quarterly_review_invoice",
    "quarterly_seat_reviews",
    "renewal_invoice",
    "reported_utilization",
    "review_quarter",
    "review_quarter_utilization",
    "review_years",
    "review_year",
    "review_year_utilization",
    "seat_utilization",
    "term_quarters",
    "year_days",
]

QUARTERLY_REVIEW_EFFECTIVE_ON = date(2020, 6, 15)
"""Terms started or renewed on or after this day may be reviewed quarterly (R34)."""

CANCELLATION_NOTICE_DAYS = 30
"""A cancellation given this many days or more before the renewal date stops it (R36)."""

MONTHS_PER_QUARTER = 3
MONTHS_PER_YEAR = 12


# -- calendar -------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, the day clamped to the target month's length.

    2026-11-30 + 3 months = 2027-02-28; 2027-11-30 + 3 months = 2028-02-29. Boundaries of a term
    are always counted from the term's start (start + 3, + 6, + 9 months), never chained, so a
    clamped February does not shorten the later quarters.
    """
    check_day("day", day)
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def year_days(starts_on: date) -> int:
    """Days in the subscription year that starts on ``starts_on``: 366 if it holds a Feb 29."""
    return (add_months(starts_on, MONTHS_PER_YEAR) - starts_on).days


@dataclass(frozen=True, kw_only=True)
class Period:
    """The days ``starts_on`` up to, not including, ``ends_on``."""

    starts_on: date
    ends_on: date

    def __post_init__(self) -> None:
        check_day("starts_on", self.starts_on)
        check_day("ends_on", self.ends_on)
        if self.ends_on <= self.starts_on:
            raise BillingError("ends_on: must be after starts_on")

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days

    @property
    def last_day(self) -> date:
        """The day utilization is measured on (R33)."""
        return self.ends_on - timedelta(days=1)

    def same_days(self, other: Period) -> bool:
        """Whether ``other`` covers the same days (a Quarter and a Period can)."""
        return (self.starts_on, self.ends_on) == (other.starts_on, other.ends_on)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts_on <= day < self.ends_on


@dataclass(frozen=True, kw_only=True)
class Quarter(Period):
    """Quarter ``number`` (1-based) of a subscription term."""

    number: int

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("number", self.number, minimum=1)

    @property
    def label(self) -> str:
        return f"Q{self.number}"


def _split(term: Period, months: int) -> tuple[tuple[date, date], ...]:
    bounds: list[tuple[date, date]] = []
    starts_on = term.starts_on
    n = 1
    while starts_on < term.ends_on:
        ends_on = min(add_months(term.starts_on, n * months), term.ends_on)
        bounds.append((starts_on, ends_on))
        starts_on, n = ends_on, n + 1
    return tuple(bounds)


def term_quarters(term: Period) -> tuple[Quarter, ...]:
    """The quarters of a term: 3 calendar months each from the term's start (R34).

    A 12-month term has Q1..Q4. Other terms are cut the same way and the last quarter ends with
    the term, so it may be shorter (a 7-month term: Q1, Q2 and a 1-month Q3); a 24-month term
    has Q1..Q8. Whatever the length, the last quarter is the one never charged.
    """
    return tuple(
        Quarter(number=n, starts_on=s, ends_on=e)
        for n, (s, e) in enumerate(_split(term, MONTHS_PER_QUARTER), start=1)
    )


def quarterly_review_dates(term: Period) -> tuple[date, ...]:
    """The days the quarterly reviews of ``term`` are due: the end of every quarter but the last.

    For a 12-month term starting 2026-01-01: 2026-04-01, 2026-07-01 and 2026-10-01 (R34).
    """
    return tuple(quarter.ends_on for quarter in term_quarters(term)[:-1])


def quarter_ending_on(term: Period, day: date) -> Quarter | None:
    """The quarter of ``term`` whose review is due on ``day`` (it ended the day before), if any."""
    check_day("day", day)
    return next((q for q in term_quarters(term)[:-1] if q.ends_on == day), None)


def review_years(term: Period) -> tuple[Period, ...]:
    """The periods of the annual seat review (R35): one per 12 months of the term.

    A term of 12 months or less is one period. A longer term is reviewed every 12 months, as
    the policy says ("annually in the case of contract terms greater than 12 months"); a last
    period shorter than a year is priced by its days (see ``review_year``).
    """
    return tuple(Period(starts_on=s, ends_on=e) for s, e in _split(term, MONTHS_PER_YEAR))


# -- usage and utilization (R33) ------------------------------------------------------------------


class UsageReading(Protocol):
    """One day's billable user count (R30) as the instance reported it (R32).

    protocol.messages.DailyUsage fits, and so does any row with these two attributes.
    """

    @property
    def day(self) -> date: ...

    @property
    def billable_users(self) -> int: ...


def _daily_maxima(usage: Iterable[UsageReading], until: date) -> dict[date, int]:
    # Two readings for one day (a manual sync after the daily one) keep the larger: utilization
    # is the maximum at any one time.
    counts: dict[date, int] = {}
    for reading in usage:
        day = check_day("usage.day", reading.day)
        users = check_count("usage.billable_users", reading.billable_users)
        if day < until:
            counts[day] = max(users, counts.get(day, 0))
    return counts


class UsageSource(enum.StrEnum):
    DAILY_READINGS = "daily_readings"  # the instance's daily counts, by Seat Link (R32)
    SALES_CHECK_IN = "sales_check_in"  # a maximum the customer reported to sales (R32)


@dataclass(frozen=True, kw_only=True)
class SeatUtilization:
    """The seat utilization of a period (R33).

    ``maximum`` is None when no reading exists in the period or before it. ``missing_days`` are
    the days of the period with no reading of their own; each took the last reading before it.
    A utilization reported at a sales check-in has no peak day and no missing days.
    """

    period: Period
    maximum: int | None
    peak_day: date | None
    missing_days: tuple[date, ...]
    source: UsageSource = UsageSource.DAILY_READINGS

    @property
    def measured_on(self) -> date:
        return self.period.last_day


def reported_utilization(period: Period, maximum: int) -> SeatUtilization:
    """The utilization of ``period`` as reported at a sales check-in (R32, R33).

    A check-in reports the period's maximum itself, not daily counts: it is taken as it is, and
    never carried into the next period (a maximum is not a count that holds until changed).
    """
    check_count("maximum", maximum)
    return SeatUtilization(
        period=period,
        maximum=maximum,
        peak_day=None,
        missing_days=(),
        source=UsageSource.SALES_CHECK_IN,
    )


def seat_utilization(period: Period, usage: Iterable[UsageReading]) -> SeatUtilization:
    """The maximum billable user count over the days of ``period`` (R33).

    Readings after the period's last day are ignored: utilization is measured on that day.
    """
    counts = _daily_maxima(usage, period.ends_on)
    earlier = [day for day in counts if day < period.starts_on]
    carried: int | None = counts[max(earlier)] if earlier else None
    maximum: int | None = None
    peak_day: date | None = None
    missing: list[date] = []
    for offset in range(period.days):
        day = period.starts_on + timedelta(days=offset)
        if day in counts:
            carried = counts[day]
        else:
            missing.append(day)
        if carried is not None and (maximum is None or carried > maximum):
            maximum, peak_day = carried, day
    return SeatUtilization(
        period=period, maximum=maximum, peak_day=peak_day, missing_days=tuple(missing)
    )


def active_users_on(day: date, usage: Iterable[UsageReading]) -> int | None:
    """The billable user count of ``day``: its reading, else the last one before it (R36)."""
    counts = _daily_maxima(usage, day + timedelta(days=1))
    return counts[max(counts)] if counts else None


# -- the subscription under review ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SeatPurchase:
    """Seats bought during the term; licensed from ``effective_on`` (and paid for separately)."""

    effective_on: date
    seats: int

    def __post_init__(self) -> None:
        check_day("effective_on", self.effective_on)
        check_count("seats", self.seats, minimum=1)


@dataclass(frozen=True, kw_only=True)
class SubscriptionTerm:
    """What a seat review needs of a subscription: its current term, seats and list price.

    ``seats`` is the licensed count at the start of the term; ``list_price_cents`` the list price
    of one seat for one year, in cents (34800 for 29 USD per user per month).
    """

    term: Period
    seats: int
    list_price_cents: int
    seat_purchases: tuple[SeatPurchase, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.term, Period):
            raise BillingError("term: expected a Period")
        check_count("seats", self.seats, minimum=1)
        check_count("list_price_cents", self.list_price_cents)
        if not isinstance(self.seat_purchases, tuple):
            raise BillingError("seat_purchases: expected a tuple")
        for purchase in self.seat_purchases:
            if not isinstance(purchase, SeatPurchase) or purchase.effective_on not in self.term:
                raise BillingError("seat_purchases: each must be a SeatPurchase within the term")

    def purchased_seats_through(self, day: date) -> int:
        """Seats bought during the term that are licensed on ``day``."""
        return sum(p.seats for p in self.seat_purchases if p.effective_on <= day)


# -- which review applies -------------------------------------------------------------------------


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
    LAST_QUARTER_NOT_CHARGED = "last_quarter_not_charged"  # a Q4 overage is never charged
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
    line_item: LineItem | None  # None unless charged

    @property
    def charge_cents(self) -> int:
        return self.line_item.amount_cents if self.line_item else 0

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
            line_item=None,
        )
    overage = max(utilization.maximum - licensed_seats, 0)
    if overage == 0:
        outcome = ReviewOutcome.NO_OVERAGE
    elif quarter.ends_on >= term.ends_on:
        outcome = ReviewOutcome.LAST_QUARTER_NOT_CHARGED
    else:
        outcome = ReviewOutcome.CHARGED
    line_item = None
    if outcome is ReviewOutcome.CHARGED:
        line_item = LineItem(
            description=(
                f"Quarterly seat review {quarter.label}: {overage} users over the "
                f"{licensed_seats} licensed, prorated to the end of the term"
            ),
            seats=overage,
            period_starts_on=quarter.ends_on,
            period_ends_on=term.ends_on,
            unit_price_cents=subscription.list_price_cents,
            prorated_days=(term.ends_on - quarter.ends_on).days,
            basis_days=year_days(term.starts_on),
        )
    return QuarterlyReview(
        quarter=quarter,
        utilization=utilization,
        licensed_seats=licensed_seats,
        overage=overage,
        outcome=outcome,
        collection=collection if line_item else None,
        line_item=line_item,
    )


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
    if review.line_item is None:
        return None
    return Invoice(
        subscription_name=subscription_name,
        kind=InvoiceKind.QUARTERLY_SEAT_REVIEW,
        issued_on=review.quarter.ends_on,
        line_items=(review.line_item,),
    )


# -- annual seat review (R35) ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AnnualReview:
    """The review of one term (or one year of a longer term) at renewal (R35)."""

    period: Period
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
    if period not in review_years(subscription.term):
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
        line_item = LineItem(
            description=(
                f"Annual seat review: {overage} users over the {licensed_seats} licensed, "
                f"at list price for the prior term"
            ),
            seats=overage,
            period_starts_on=period.starts_on,
            period_ends_on=period.ends_on,
            unit_price_cents=subscription.list_price_cents,
            prorated_days=period.days,
            basis_days=year_days(period.starts_on),
        )
    return AnnualReview(
        period=period,
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


# -- renewal (R36) --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Renewal:
    """The subscription renews on ``renews_on`` for ``seats`` seats over ``new_term``."""

    renews_on: date
    new_term: Period
    seats: int
    late_cancellation_on: date | None = None  # notice given, but under 30 days before


@dataclass(frozen=True, kw_only=True)
class Cancellation:
    """The subscription ends on ``renews_on``: notice was given in time."""

    renews_on: date
    notified_on: date


def decide_renewal(
    *,
    renews_on: date,
    active_users: int,
    cancellation_notified_on: date | None = None,
    term_months: int = MONTHS_PER_YEAR,
) -> Renewal | Cancellation:
    """Renew at the current active user count, or cancel if told at least 30 days before (R36).

    ``renews_on`` is the end of the current term. Notice given exactly 30 days before counts as
    in time; 29 days is too late and the subscription renews. A renewal is for at least one
    seat, even when no user is active.
    """
    check_day("renews_on", renews_on)
    check_count("active_users", active_users)
    check_count("term_months", term_months, minimum=1)
    late: date | None = None
    if cancellation_notified_on is not None:
        check_day("cancellation_notified_on", cancellation_notified_on)
        if (renews_on - cancellation_notified_on).days >= CANCELLATION_NOTICE_DAYS:
            return Cancellation(renews_on=renews_on, notified_on=cancellation_notified_on)
        late = cancellation_notified_on
    return Renewal(
        renews_on=renews_on,
        new_term=Period(starts_on=renews_on, ends_on=add_months(renews_on, term_months)),
        seats=max(active_users, 1),
        late_cancellation_on=late,
    )


def renewal_invoice(
    subscription_name: str,
    renewal: Renewal,
    *,
    list_price_cents: int,
    annual_reviews: Iterable[AnnualReview] = (),
) -> Invoice:
    """The renewal invoice: the renewed seats for the new term, then any annual overage (R35).

    The new term is priced per seat per year: a 12-month term is the list price, another length
    its days over the days of its first year.
    """
    check_count("list_price_cents", list_price_cents)
    term = renewal.new_term
    renewed = LineItem(
        description=f"Renewal: {renewal.seats} seats at list price",
        seats=renewal.seats,
        period_starts_on=term.starts_on,
        period_ends_on=term.ends_on,
        unit_price_cents=list_price_cents,
        prorated_days=term.days,
        basis_days=year_days(term.starts_on),
    )
    overages = tuple(r.line_item for r in annual_reviews if r.line_item is not None)
    return Invoice(
        subscription_name=subscription_name,
        kind=InvoiceKind.RENEWAL,
        issued_on=renewal.renews_on,
        line_items=(*overages, renewed),
    )


def final_review_invoice(
    subscription_name: str, cancellation: Cancellation, annual_reviews: Iterable[AnnualReview]
) -> Invoice | None:
    """The annual overage of a term that ends without renewal, if any (R35, R36).

    *(choice)* The policy invoices the prior term's overage with the renewal; a cancelled
    subscription has no renewal, but the users were still used, so the overage is invoiced
    alone on the day the term ends.
    """
    overages = tuple(r.line_item for r in annual_reviews if r.line_item is not None)
    if not overages:
        return None
    return Invoice(
        subscription_name=subscription_name,
        kind=InvoiceKind.ANNUAL_SEAT_REVIEW,
        issued_on=cancellation.renews_on,
        line_items=overages,
    )
