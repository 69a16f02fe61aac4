"""Quarters and years of a subscription term: calendar months from the start, days clamped."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise

import pytest

from portal.billing.policy.calendar import (
    Period,
    add_months,
    quarter_ending_on,
    quarterly_review_dates,
    review_years,
    term_quarters,
    year_days,
    year_of,
)
from portal.billing.policy.invoices import BillingError


def bounds(periods: tuple[Period, ...]) -> list[tuple[date, date]]:
    return [(p.starts_on, p.ends_on) for p in periods]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),  # leap year
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
        (date(2026, 10, 15), 3, date(2027, 1, 15)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_the_day_to_the_target_month(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    "boundaries",
    [
        # Twelve months: four quarters of three calendar months.
        [date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1), date(2027, 1, 1)],
        # A month-end start clamps each boundary from the start, not from the previous one:
        # Nov 30 + 3 months is Feb 29 in a leap year; + 6 months is May 30, not May 29.
        [
            date(2027, 11, 30),
            date(2028, 2, 29),
            date(2028, 5, 30),
            date(2028, 8, 30),
            date(2028, 11, 30),
        ],
        # Seven months: the last quarter is short and ends with the term.
        [date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 8, 1)],
    ],
    ids=["twelve-months", "month-end-start", "seven-months"],
)
def test_r34_a_terms_quarters_run_from_its_start_boundary_to_boundary(
    boundaries: list[date],
) -> None:
    term = Period(starts_on=boundaries[0], ends_on=boundaries[-1])
    assert bounds(term_quarters(term)) == list(pairwise(boundaries))


def test_r34_twelve_month_term_has_four_quarters_of_three_calendar_months() -> None:
    term = Period(starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    quarters = term_quarters(term)
    assert [q.label for q in quarters] == ["Q1", "Q2", "Q3", "Q4"]
    assert [q.days for q in quarters] == [90, 91, 92, 92]
    assert quarters[0].last_day == date(2026, 3, 31)


def test_r34_a_year_from_a_month_end_start_counts_the_leap_day_it_spans() -> None:
    assert year_days(date(2027, 11, 30)) == 366
    assert year_days(date(2026, 11, 30)) == 365


def test_r34_a_long_term_is_cut_into_quarters_the_last_one_ending_with_the_term() -> None:
    two_years = Period(starts_on=date(2026, 1, 1), ends_on=date(2028, 1, 1))
    assert len(term_quarters(two_years)) == 8
    assert term_quarters(two_years)[-1].ends_on == date(2028, 1, 1)


def test_r34_reviews_are_due_at_the_end_of_every_quarter_but_the_last() -> None:
    term = Period(starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    assert quarterly_review_dates(term) == (date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1))
    q2 = quarter_ending_on(term, date(2026, 7, 1))
    assert q2 is not None and q2.label == "Q2"
    assert quarter_ending_on(term, date(2027, 1, 1)) is None  # Q4 is never reviewed
    assert quarter_ending_on(term, date(2026, 7, 2)) is None


def test_r35_a_longer_term_is_reviewed_every_twelve_months() -> None:
    eighteen_months = Period(starts_on=date(2026, 1, 1), ends_on=date(2027, 7, 1))
    assert bounds(review_years(eighteen_months)) == [
        (date(2026, 1, 1), date(2027, 1, 1)),
        (date(2027, 1, 1), date(2027, 7, 1)),
    ]
    assert [y.label for y in review_years(eighteen_months)] == ["Year 1", "Year 2"]
    one_year = Period(starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    (year,) = review_years(one_year)
    assert year.same_days(one_year) and year.label == "Term"


def test_r34_a_longer_term_is_cut_into_years_of_quarters_each_closed_by_its_q4() -> None:
    # 2026-11-30 + 12 months = 2027-11-30; each year's quarters are counted from the term start.
    two_years = Period(starts_on=date(2026, 11, 30), ends_on=date(2028, 11, 30))
    quarters = term_quarters(two_years)
    assert [q.label for q in quarters] == [
        *(f"Year 1 Q{n}" for n in range(1, 5)),
        *(f"Year 2 Q{n}" for n in range(1, 5)),
    ]
    assert [q.closes_year for q in quarters] == [False, False, False, True] * 2
    assert quarters[3].ends_on == quarters[4].starts_on == date(2027, 11, 30)
    assert quarters[4].ends_on == date(2028, 2, 29)  # leap year clamp, counted from the start
    # Reviews are held at the end of every quarter but the term's last; Year 1 Q4's included.
    assert date(2027, 11, 30) in quarterly_review_dates(two_years)
    assert date(2028, 11, 30) not in quarterly_review_dates(two_years)
    # An 18-month term: a year of four quarters, then a half year of two, its Q2 the last.
    eighteen = term_quarters(Period(starts_on=date(2026, 1, 1), ends_on=date(2027, 7, 1)))
    assert [(q.label, q.closes_year) for q in eighteen[3:]] == [
        ("Year 1 Q4", True),
        ("Year 2 Q1", False),
        ("Year 2 Q2", True),
    ]
    assert year_of(two_years, date(2027, 11, 30)).label == "Year 2"


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (date(2026, 1, 1), date(2026, 1, 1)),
        (date(2026, 1, 2), date(2026, 1, 1)),
        (datetime(2026, 1, 1), date(2026, 2, 1)),
        ("2026-01-01", date(2026, 2, 1)),
    ],
)
def test_a_period_refuses_empty_backwards_or_non_date_bounds(
    starts_on: object, ends_on: object
) -> None:
    with pytest.raises(BillingError):
        Period(starts_on=starts_on, ends_on=ends_on)  # type: ignore[arg-type]
