"""The two worked examples of docs/billing.md, reproduced to the cent (R33-R36)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from portal.billing.policy.renewals import Renewal, decide_renewal, renewal_invoice
from portal.billing.policy.reviews import (
    ChargeState,
    Collection,
    QuarterlyReview,
    ReviewCycle,
    ReviewOutcome,
    annual_seat_reviews,
    choose_review_cycle,
    collection_for,
    quarterly_review_invoice,
    quarterly_seat_reviews,
)
from portal.billing.policy.usage_chart import usage_chart
from portal.billing.policy.utilization import SubscriptionTerm, active_users_on
from protocol.messages import DailyUsage

from .helpers import PREMIUM_CENTS_PER_YEAR, annual_example, quarterly_example

DOCS = Path(__file__).resolve().parents[3] / "docs"
CHART = DOCS / "img" / "billing-quarterly-example.svg"
CHART_TITLE = "Worked example 1: daily billable users, 2026-01-01 to 2027-01-01"


def doc_text() -> str:
    return (DOCS / "billing.md").read_text(encoding="utf-8")


def example_1_reviews() -> tuple[
    SubscriptionTerm, tuple[DailyUsage, ...], tuple[QuarterlyReview, ...]
]:
    sub, usage = quarterly_example()
    collection = collection_for(has_seat_link=True)
    return sub, usage, quarterly_seat_reviews(sub, usage, collection=collection)


def test_r34_worked_example_1_quarterly_customer_billed_in_q1_and_q2_not_q4() -> None:
    sub, usage, reviews = example_1_reviews()
    assert (
        choose_review_cycle(sub.term.starts_on, has_seat_link=True, has_sales_check_ins=False)
        is ReviewCycle.QUARTERLY
    )
    assert [q.quarter.days for q in reviews] == [90, 91, 92, 92]
    assert [q.utilization.maximum for q in reviews] == [112, 120, 118, 130]
    assert [q.licensed_seats for q in reviews] == [100, 112, 120, 120]
    assert [q.overage for q in reviews] == [12, 8, 0, 10]
    assert [q.outcome for q in reviews] == [
        ReviewOutcome.CHARGED,
        ReviewOutcome.CHARGED,
        ReviewOutcome.NO_OVERAGE,
        ReviewOutcome.LAST_QUARTER_NOT_CHARGED,
    ]
    labels = [i.proration_label for q in reviews for i in q.line_items]
    assert labels == ["275/365", "184/365"]
    assert [q.charge_cents for q in reviews] == [314630, 140344, 0, 0]
    assert sum(q.charge_cents for q in reviews) == 454974

    invoices = [quarterly_review_invoice("A-S00000001", q) for q in reviews]
    assert [(i.issued_on, i.total) for i in invoices if i] == [
        (date(2026, 4, 1), "$3,146.30"),
        (date(2026, 7, 1), "$1,403.44"),
    ]
    assert invoices[2:] == [None, None]
    assert {q.charge_state for q in reviews[:2]} == {ChargeState.INVOICED}

    renewal = decide_renewal(
        renews_on=sub.term.ends_on, active_users=active_users_on(sub.term.last_day, usage) or 0
    )
    assert isinstance(renewal, Renewal) and renewal.seats == 128
    invoice = renewal_invoice("A-S00000001", renewal, list_price_cents=PREMIUM_CENTS_PER_YEAR)
    assert invoice.total_cents == 4454400 and invoice.total == "$44,544.00"


def test_r35_r36_worked_example_2_annual_customer_full_list_price_with_the_renewal() -> None:
    sub, usage = annual_example()
    assert (
        choose_review_cycle(sub.term.starts_on, has_seat_link=False, has_sales_check_ins=False)
        is ReviewCycle.ANNUAL
    )
    assert sub.term.days == 366
    (review,) = annual_seat_reviews(sub, usage)
    assert review.utilization.maximum == 63
    assert review.utilization.peak_day == date(2027, 9, 20)
    assert review.utilization.measured_on == date(2028, 2, 29)
    assert review.overage == 13
    assert review.line_item is not None and review.line_item.proration_label == "366/366"
    assert review.charge_cents == 452400

    renewal = decide_renewal(
        renews_on=sub.term.ends_on, active_users=active_users_on(sub.term.last_day, usage) or 0
    )
    assert isinstance(renewal, Renewal)
    assert renewal.seats == 61 and renewal.new_term.days == 365
    invoice = renewal_invoice(
        "A-S00000002", renewal, list_price_cents=PREMIUM_CENTS_PER_YEAR, annual_reviews=[review]
    )
    assert [(i.proration_label, i.amount_cents) for i in invoice.line_items] == [
        ("366/366", 452400),
        ("365/365", 2122800),
    ]
    assert invoice.total_cents == 2575200 and invoice.total == "$25,752.00"


def test_r34_worked_example_2_comparison_if_reviewed_quarterly() -> None:
    sub, usage = annual_example()
    reviews = quarterly_seat_reviews(sub, usage, collection=Collection.AUTOMATIC)
    assert [q.charge_cents for q in reviews] == [0, 121134, 51915, 0]
    assert sum(q.charge_cents for q in reviews) == 173049


def test_the_document_shows_the_amounts_the_code_computes() -> None:
    text = doc_text()
    for figure in (
        "314,630 cents = $3,146.30",
        "140,344 cents = $1,403.44",
        "454,974 cents = $4,549.74",
        "4,454,400 cents = $44,544.00",
        "452,400 cents = $4,524.00",
        "2,122,800 cents = $21,228.00",
        "2,575,200 cents = $25,752.00",
        "173,049 cents = $1,730.49",
    ):
        assert figure in text, figure


def test_the_documents_chart_is_the_one_the_code_draws_for_example_1() -> None:
    # Regenerate with: python -m tests.portal.billing.test_worked_examples
    sub, usage, reviews = example_1_reviews()
    drawn = usage_chart(sub, usage, reviews, title=CHART_TITLE, chart_id="example-1")
    assert CHART.read_text(encoding="utf-8") == drawn + "\n"


if __name__ == "__main__":
    sub, usage, reviews = example_1_reviews()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    drawn = usage_chart(sub, usage, reviews, title=CHART_TITLE, chart_id="example-1")
    CHART.write_text(drawn + "\n", encoding="utf-8")
