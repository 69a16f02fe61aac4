# Seat usage and utilization (R33), and the subscription term a seat review looks at.
#
# - R33 Seat utilization of a period is the maximum of the daily billable user counts of its days,
#   measured on its last day. A day without a reading takes the last reading before it (carried
#   forward) and is reported as missing; a period with no reading in or before it has no
#   utilization at all. A maximum reported at a sales check-in (R32) is taken as it is, for its
#   own period only.
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from portal.billing.policy.calendar import Period
from portal.billing.policy.invoices import BillingError, check_count, check_day

__all__ = [
    "SeatPurchase",
    "SeatUtilization",
    "SubscriptionTerm",
    "UsageReading",
    "UsageSource",
    "active_users_on",
    "reported_utilization",
    "seat_utilization",
    "utilization_from_extremes",
]


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


def utilization_from_extremes(
    period: Period,
    *,
    carried: int | None,
    first_reading_on: date | None,
    maximum: int | None,
    peak_day: date | None,
) -> SeatUtilization:
    """``seat_utilization`` from what a database query can aggregate of the readings (R33).

    ``carried``: the count of the last day with a reading before the period; ``first_reading_on``,
    ``maximum`` and ``peak_day``: the first day with a reading in the period, the largest count
    of the period's days and the first day it was reached. The carried count holds until the
    first reading, so it is the maximum (on the period's first day) unless a later day exceeds
    it, as in ``seat_utilization``. Missing days are not counted here (a seat review stores only
    the maximum and its day).
    """
    if maximum is not None:
        check_count("maximum", maximum)
    carries = carried is not None and (
        first_reading_on is None or first_reading_on > period.starts_on
    )
    if carries and carried is not None and (maximum is None or carried >= maximum):
        maximum, peak_day = carried, period.starts_on
    return SeatUtilization(period=period, maximum=maximum, peak_day=peak_day, missing_days=())


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
