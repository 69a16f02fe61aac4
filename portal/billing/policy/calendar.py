# The calendar of a subscription term: periods, quarters and review years (R34, R35).
#
# Dates are datetime.date and periods are half-open, [starts_on, ends_on), the convention of
# subscriptions and licenses. A term's boundaries are always counted from its start.
#
# A term longer than 12 months is cut into review years (12 months each from its start, the last
# one ending with the term) and each year into quarters, as seeds/004 describes one year: the
# annual review is held at the end of each year (R35) and the last quarter of each year is the
# one never charged (R34). A term of 12 months or less is one year.
from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, timedelta

from portal.billing.policy.invoices import BillingError, check_count, check_day

__all__ = [
    "Period",
    "Quarter",
    "ReviewYear",
    "add_months",
    "quarter_ending_on",
    "quarterly_review_dates",
    "review_years",
    "term_quarters",
    "year_of",
    "year_days",
]

MONTHS_PER_QUARTER = 3
MONTHS_PER_YEAR = 12


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
class ReviewYear(Period):
    """Year ``number`` (1-based) of a term longer than 12 months; ``number`` is None for the one
    year of a term of 12 months or less (reviewed as "Term")."""

    number: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.number is not None:
            check_count("number", self.number, minimum=1)

    @property
    def label(self) -> str:
        return "Term" if self.number is None else f"Year {self.number}"


@dataclass(frozen=True, kw_only=True)
class Quarter(Period):
    """Quarter ``number`` (1-based, 1..4) of review year ``year`` of a subscription term.

    ``year`` is None in a term of 12 months or less. ``closes_year``: the last quarter of its
    year, whose overage is never charged (R34: "Q4").
    """

    number: int
    year: int | None = None
    closes_year: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("number", self.number, minimum=1)
        if self.year is not None:
            check_count("year", self.year, minimum=1)

    @property
    def label(self) -> str:
        return f"Q{self.number}" if self.year is None else f"Year {self.year} Q{self.number}"


def _split(term: Period, months: int) -> tuple[tuple[date, date], ...]:
    bounds: list[tuple[date, date]] = []
    starts_on = term.starts_on
    n = 1
    while starts_on < term.ends_on:
        ends_on = min(add_months(term.starts_on, n * months), term.ends_on)
        bounds.append((starts_on, ends_on))
        starts_on, n = ends_on, n + 1
    return tuple(bounds)


# Pure and asked again for every subscription of a billing run: terms repeat, so keep the answers.
@functools.lru_cache(maxsize=4096)
def review_years(term: Period) -> tuple[ReviewYear, ...]:
    """The years of a term, each reviewed at its end by the annual seat review (R35).

    A term of 12 months or less is one year ("Term"). A longer term is reviewed every 12 months,
    as the policy says ("annually in the case of contract terms greater than 12 months"): Year 1,
    Year 2, ...; a last year shorter than 12 months is priced by its days (see ``review_year``).
    """
    bounds = _split(term, MONTHS_PER_YEAR)
    if len(bounds) == 1:
        return (ReviewYear(starts_on=term.starts_on, ends_on=term.ends_on),)
    return tuple(
        ReviewYear(number=n, starts_on=s, ends_on=e) for n, (s, e) in enumerate(bounds, start=1)
    )


def year_of(term: Period, day: date) -> ReviewYear:
    """The review year of ``term`` holding ``day``."""
    check_day("day", day)
    for year in review_years(term):
        if day in year:
            return year
    raise BillingError("day: not within the term")


@functools.lru_cache(maxsize=4096)
def term_quarters(term: Period) -> tuple[Quarter, ...]:
    """The quarters of a term: 3 calendar months each from the term's start (R34).

    A 12-month term has Q1..Q4. A longer term is cut into years (``review_years``) and each year
    into quarters: a 24-month term has Year 1 Q1..Q4 and Year 2 Q1..Q4. The last quarter of a
    year ends with it, so it may be shorter (a 7-month term: Q1, Q2 and a 1-month Q3). Whatever
    the length, the last quarter of each year is the one never charged (``closes_year``).
    """
    quarters: list[Quarter] = []
    years = review_years(term)
    for year in years:
        bounds = [
            (s, e)
            for s, e in _split(term, MONTHS_PER_QUARTER)
            if year.starts_on <= s and e <= year.ends_on
        ]
        for n, (s, e) in enumerate(bounds, start=1):
            quarters.append(
                Quarter(
                    number=n,
                    year=year.number,
                    closes_year=e == year.ends_on,
                    starts_on=s,
                    ends_on=e,
                )
            )
    return tuple(quarters)


def quarterly_review_dates(term: Period) -> tuple[date, ...]:
    """The days the quarterly reviews of ``term`` are due: the end of every quarter but the last.

    For a 12-month term starting 2026-01-01: 2026-04-01, 2026-07-01 and 2026-10-01 (R34). In a
    longer term the last quarter of an earlier year is reviewed too, its overage not charged.
    """
    return tuple(quarter.ends_on for quarter in term_quarters(term)[:-1])


def quarter_ending_on(term: Period, day: date) -> Quarter | None:
    """The quarter of ``term`` whose review is due on ``day`` (it ended the day before), if any."""
    check_day("day", day)
    return next((q for q in term_quarters(term)[:-1] if q.ends_on == day), None)
