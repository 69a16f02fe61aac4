"""Daily usage and subscriptions for the billing tests, and the worked examples of docs/billing.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from portal.billing.policy.calendar import Period
from portal.billing.policy.utilization import SeatPurchase, SubscriptionTerm
from protocol.messages import DailyUsage

PREMIUM_CENTS_PER_YEAR = 34800  # 29 USD per user per month


def daily(
    starts_on: date, ends_on: date, changes: Sequence[tuple[date, int]]
) -> tuple[DailyUsage, ...]:
    """One reading per day from ``starts_on`` to ``ends_on`` (exclusive).

    ``changes`` are (day, billable users) in date order, the first on ``starts_on``; each count
    holds until the next change.
    """
    assert changes and changes[0][0] == starts_on
    levels = dict(changes)
    readings: list[DailyUsage] = []
    users = changes[0][1]
    day = starts_on
    while day < ends_on:
        users = levels.get(day, users)
        readings.append(DailyUsage(day=day, billable_users=users))
        day += timedelta(days=1)
    return tuple(readings)


def subscription(
    starts_on: date,
    ends_on: date,
    seats: int,
    *,
    price: int = PREMIUM_CENTS_PER_YEAR,
    purchases: Sequence[tuple[date, int]] = (),
) -> SubscriptionTerm:
    return SubscriptionTerm(
        term=Period(starts_on=starts_on, ends_on=ends_on),
        seats=seats,
        list_price_cents=price,
        seat_purchases=tuple(SeatPurchase(effective_on=d, seats=n) for d, n in purchases),
    )


# Worked example 1 of docs/billing.md: a quarterly customer (Seat Link), overages in Q1, Q2, Q4.
QUARTERLY_TERM = (date(2026, 1, 1), date(2027, 1, 1))
QUARTERLY_SEATS = 100
QUARTERLY_CHANGES = (
    (date(2026, 1, 1), 100),
    (date(2026, 2, 16), 112),  # Q1: 12 users join...
    (date(2026, 3, 20), 108),  # ...and 4 leave; the maximum, 112, still counts
    (date(2026, 5, 4), 120),  # Q2: maximum 120
    (date(2026, 6, 1), 115),
    (date(2026, 8, 3), 118),  # Q3: maximum 118, under the 120 now licensed
    (date(2026, 10, 12), 130),  # Q4: maximum 130, never charged
    (date(2026, 12, 1), 128),  # active at renewal
)

# Worked example 2 of docs/billing.md: an annual customer (no quarterly data), a leap-year term.
ANNUAL_TERM = (date(2027, 3, 1), date(2028, 3, 1))
ANNUAL_SEATS = 50
ANNUAL_CHANGES = (
    (date(2027, 3, 1), 48),
    (date(2027, 6, 14), 57),
    (date(2027, 9, 20), 63),  # the maximum of the term
    (date(2027, 11, 2), 58),
    (date(2028, 2, 1), 61),  # active at renewal
)


def quarterly_example() -> tuple[SubscriptionTerm, tuple[DailyUsage, ...]]:
    return (
        subscription(*QUARTERLY_TERM, QUARTERLY_SEATS),
        daily(*QUARTERLY_TERM, QUARTERLY_CHANGES),
    )


def annual_example() -> tuple[SubscriptionTerm, tuple[DailyUsage, ...]]:
    return subscription(*ANNUAL_TERM, ANNUAL_SEATS), daily(*ANNUAL_TERM, ANNUAL_CHANGES)
