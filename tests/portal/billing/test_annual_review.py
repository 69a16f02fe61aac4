"""R35: the annual seat review at renewal, full list price for the prior term; which review applies."""

from __future__ import annotations

from datetime import date

import pytest

from portal.billing.policy.calendar import Period, review_years
from portal.billing.policy.invoices import BillingError
from portal.billing.policy.reviews import (
    Collection,
    ReviewCycle,
    ReviewOutcome,
    annual_seat_reviews,
    choose_review_cycle,
    collection_for,
    review_year,
    review_year_utilization,
)
from portal.billing.policy.utilization import reported_utilization

from .helpers import daily, subscription

TERM = (date(2026, 1, 1), date(2027, 1, 1))


def test_r35_overage_over_the_whole_term_is_charged_at_full_list_price_not_prorated() -> None:
    # 20 users added in the last month cost a full year each, as 20 added on the first day would.
    late = annual_seat_reviews(
        subscription(*TERM, 100), daily(*TERM, [(TERM[0], 100), (date(2026, 12, 1), 120)])
    )
    early = annual_seat_reviews(subscription(*TERM, 100), daily(*TERM, [(TERM[0], 120)]))
    (review,) = late
    assert review.outcome is ReviewOutcome.CHARGED
    assert review.overage == 20
    assert review.line_item is not None
    assert review.line_item.proration_label == "365/365"
    assert review.charge_cents == early[0].charge_cents == 20 * 34800


def test_r33_r35_the_maximum_counts_even_when_the_users_left_before_renewal() -> None:
    usage = daily(*TERM, [(TERM[0], 100), (date(2026, 5, 1), 130), (date(2026, 6, 1), 95)])
    (review,) = annual_seat_reviews(subscription(*TERM, 100), usage)
    assert review.utilization.maximum == 130
    assert review.utilization.measured_on == date(2026, 12, 31)
    assert review.charge_cents == 30 * 34800


def test_r35_leap_year_term_still_costs_the_annual_list_price() -> None:
    term = (date(2027, 3, 1), date(2028, 3, 1))
    (review,) = annual_seat_reviews(subscription(*term, 10), daily(*term, [(term[0], 11)]))
    assert review.line_item is not None and review.line_item.proration_label == "366/366"
    assert review.charge_cents == 34800


def test_r35_no_overage_no_charge() -> None:
    (review,) = annual_seat_reviews(subscription(*TERM, 100), daily(*TERM, [(TERM[0], 100)]))
    assert review.outcome is ReviewOutcome.NO_OVERAGE
    assert review.line_item is None and review.charge_cents == 0


def test_r35_a_term_longer_than_a_year_is_reviewed_each_year_against_the_contracted_seats() -> None:
    term = (date(2026, 1, 1), date(2027, 7, 1))
    usage = daily(*term, [(term[0], 100), (date(2026, 6, 1), 110), (date(2027, 2, 1), 112)])
    first, second = annual_seat_reviews(subscription(*term, 100), usage)
    assert (first.overage, first.charge_cents) == (10, 10 * 34800)
    # The second period (6 months) is priced by its days: 12 x 34800 x 181/365 = 207083.84...
    assert second.licensed_seats == 100
    assert second.overage == 12
    assert second.line_item is not None and second.line_item.proration_label == "181/365"
    assert second.charge_cents == 207084


def test_r35_a_term_without_any_reading_has_no_annual_charge() -> None:
    (review,) = annual_seat_reviews(subscription(*TERM, 100), [])
    assert review.outcome is ReviewOutcome.NO_DATA and review.charge_cents == 0


def test_r35_a_period_that_is_not_a_review_year_of_the_term_is_refused() -> None:
    sub = subscription(*TERM, 100)
    with pytest.raises(BillingError, match="period"):
        review_year(
            sub, Period(starts_on=TERM[0], ends_on=date(2026, 7, 1)), [], licensed_seats=100
        )


@pytest.mark.parametrize(
    ("starts_on", "seat_link", "check_ins", "expected"),
    [
        (date(2020, 6, 15), True, False, ReviewCycle.QUARTERLY),  # the effective day itself
        (date(2026, 1, 1), False, True, ReviewCycle.QUARTERLY),  # sales check-ins
        (date(2026, 1, 1), False, False, ReviewCycle.ANNUAL),  # shares no quarterly data
        (date(2020, 6, 14), True, True, ReviewCycle.ANNUAL),  # before 2020-06-15
        (date(2019, 3, 1), True, False, ReviewCycle.ANNUAL),
    ],
)
def test_r34_r35_review_cycle_depends_on_term_start_and_quarterly_data(
    starts_on: date, seat_link: bool, check_ins: bool, expected: ReviewCycle
) -> None:
    assert (
        choose_review_cycle(starts_on, has_seat_link=seat_link, has_sales_check_ins=check_ins)
        is expected
    )


def test_r34_seat_link_is_collected_automatically_check_ins_by_amendment() -> None:
    assert collection_for(has_seat_link=True) is Collection.AUTOMATIC
    assert collection_for(has_seat_link=False) is Collection.ORDER_AMENDMENT


def test_r32_r35_a_reported_maximum_is_reviewed_at_full_list_price() -> None:
    sub = subscription(*TERM, 100)
    (period,) = review_years(sub.term)
    review = review_year_utilization(
        sub, period, reported_utilization(period, 105), licensed_seats=100
    )
    assert (review.overage, review.charge_cents) == (5, 5 * 34800)
    assert review.utilization.peak_day is None
