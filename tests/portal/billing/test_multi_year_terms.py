"""Terms longer than 12 months (R34, R35): reviewed year by year, as docs/billing.md works example 3
(a 24-month quarterly term) and the scenarios under scenarios/billing/ do by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from portal.billing.policy.calendar import review_years, term_quarters
from portal.billing.policy.invoices import InvoiceKind
from portal.billing.policy.renewals import (
    Cancellation,
    annual_review_invoice,
    final_review_invoice,
)
from portal.billing.policy.reviews import (
    Collection,
    ReviewOutcome,
    annual_seat_reviews,
    quarterly_review_invoice,
    quarterly_seat_reviews,
    review_quarter,
)
from portal.billing.policy.usage_chart import usage_chart

from .helpers import daily, subscription

TWO_YEARS = (date(2026, 1, 1), date(2028, 1, 1))
EXAMPLE_3 = (
    (date(2026, 1, 1), 20),
    (date(2026, 2, 10), 26),  # Year 1 Q1
    (date(2026, 10, 15), 30),  # Year 1 Q4: never charged
    (date(2027, 5, 10), 33),  # Year 2 Q2
    (date(2027, 11, 1), 35),  # Year 2 Q4: never charged
)


def test_r34_worked_example_3_each_years_q4_is_never_charged_and_charges_run_to_the_term_end() -> (
    None
):
    sub = subscription(*TWO_YEARS, 20)
    reviews = quarterly_seat_reviews(
        sub, daily(*TWO_YEARS, EXAMPLE_3), collection=Collection.AUTOMATIC
    )
    assert [(r.quarter.label, r.utilization.maximum, r.overage, r.outcome) for r in reviews] == [
        ("Year 1 Q1", 26, 6, ReviewOutcome.CHARGED),
        ("Year 1 Q2", 26, 0, ReviewOutcome.NO_OVERAGE),
        ("Year 1 Q3", 26, 0, ReviewOutcome.NO_OVERAGE),
        ("Year 1 Q4", 30, 4, ReviewOutcome.LAST_QUARTER_NOT_CHARGED),
        ("Year 2 Q1", 30, 4, ReviewOutcome.CHARGED),
        ("Year 2 Q2", 33, 3, ReviewOutcome.CHARGED),
        ("Year 2 Q3", 33, 0, ReviewOutcome.NO_OVERAGE),
        ("Year 2 Q4", 35, 2, ReviewOutcome.LAST_QUARTER_NOT_CHARGED),
    ]
    assert [r.licensed_seats for r in reviews] == [20, 26, 26, 26, 26, 30, 33, 33]
    lines = [
        [(i.seats, i.period_starts_on, i.proration_label, i.amount_cents) for i in r.line_items]
        for r in reviews
        if r.line_items
    ]
    assert lines == [
        # 6 x 34,800 x 275/365 = 157,315.07; then the whole of year 2 at list price.
        [(6, date(2026, 4, 1), "275/365", 157315), (6, date(2027, 1, 1), "365/365", 208800)],
        [(4, date(2027, 4, 1), "275/365", 104877)],  # 104,876.71
        [(3, date(2027, 7, 1), "184/365", 52629)],  # 52,629.04
    ]
    first = quarterly_review_invoice("A-S00000311", reviews[0])
    assert first is not None and first.total_cents == 366115 and first.issued_on == date(2026, 4, 1)
    assert sum(r.charge_cents for r in reviews) == 366115 + 104877 + 52629


def test_r34_a_charge_over_a_leap_year_prices_each_year_by_its_own_days() -> None:
    sub = subscription(date(2027, 1, 1), date(2029, 1, 1), 10)
    q1 = term_quarters(sub.term)[0]
    review = review_quarter(
        sub,
        q1,
        daily(date(2027, 1, 1), date(2027, 4, 1), [(date(2027, 1, 1), 11)]),
        licensed_seats=10,
        collection=Collection.AUTOMATIC,
    )
    # 2028 holds Feb 29: its line is 366/366, a whole list price, not 366/365.
    assert [(i.proration_label, i.amount_cents) for i in review.line_items] == [
        ("275/365", 26219),  # 34,800 x 275/365 = 26,219.18
        ("366/366", 34800),
    ]


def test_r35_a_36_month_term_is_reviewed_each_year_against_the_contracted_seats() -> None:
    three_years = (date(2026, 1, 1), date(2029, 1, 1))
    sub = subscription(*three_years, 20)
    usage = daily(
        *three_years,
        [
            (date(2026, 1, 1), 18),
            (date(2026, 3, 1), 26),
            (date(2026, 12, 1), 21),
            (date(2027, 9, 1), 24),
            (date(2028, 2, 1), 22),
        ],
    )
    reviews = annual_seat_reviews(sub, usage)
    assert [(r.period.label, r.utilization.maximum, r.overage) for r in reviews] == [
        ("Year 1", 26, 6),
        ("Year 2", 24, 4),
        ("Year 3", 24, 4),  # 24 held until 2028-01-31
    ]
    assert [(r.line_item.proration_label, r.charge_cents) for r in reviews if r.line_item] == [
        ("365/365", 208800),
        ("365/365", 139200),
        ("366/366", 139200),
    ]
    assert "Year 2" in reviews[1].line_item.description  # type: ignore[union-attr]
    invoice = annual_review_invoice("A-S00000310", reviews[:1], issued_on=date(2027, 1, 1))
    assert invoice is not None and invoice.kind is InvoiceKind.ANNUAL_SEAT_REVIEW
    assert invoice.total_cents == 208800
    assert annual_review_invoice("A-S00000310", (), issued_on=date(2027, 1, 1)) is None
    # A cancelled term's last year is invoiced alone on its end date.
    final = final_review_invoice(
        "A-S00000310",
        Cancellation(renews_on=date(2029, 1, 1), notified_on=date(2028, 6, 1)),
        reviews[2:],
    )
    assert final is not None and final.total_cents == 139200


def test_r35_the_chart_of_a_longer_term_marks_each_years_review() -> None:
    sub = subscription(*TWO_YEARS, 20)
    usage = daily(*TWO_YEARS, EXAMPLE_3)
    years = annual_seat_reviews(sub, usage)
    assert [y.label for y in review_years(sub.term)] == ["Year 1", "Year 2"]
    svg = usage_chart(sub, usage, years, title="Two years")
    assert "Year 1 max 30, 10 charged" in svg and "Year 2 max 35, 15 charged" in svg
    assert ">Y2 Q1<" in svg  # the quarters of each year, labelled short


def test_the_figures_of_worked_example_3_in_the_docs_are_the_ones_computed() -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "billing.md").read_text("utf-8")
    sub = subscription(*TWO_YEARS, 20)
    reviews = quarterly_seat_reviews(
        sub, daily(*TWO_YEARS, EXAMPLE_3), collection=Collection.AUTOMATIC
    )
    total = sum(r.charge_cents for r in reviews)
    assert total == 523621
    for figure in (
        "366,115 cents = $3,661.15",
        "104,877 cents = $1,048.77",
        "52,629 cents = $526.29",
        "523,621 cents = $5,236.21",
        "1,218,000 cents = $12,180.00",
    ):
        assert figure in text, figure
