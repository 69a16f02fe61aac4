"""R34: the quarterly seat review at the end of quarters 1-3, prorated to the end of the term."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction

import pytest

from portal.billing.policy.calendar import Quarter, term_quarters
from portal.billing.policy.invoices import BillingError, InvoiceKind
from portal.billing.policy.reviews import (
    ChargeEvent,
    ChargeState,
    Collection,
    QuarterlyReview,
    ReviewOutcome,
    collection_for,
    next_charge_state,
    quarterly_review_invoice,
    quarterly_seat_reviews,
    review_quarter,
    review_quarter_utilization,
)
from portal.billing.policy.utilization import UsageSource, reported_utilization

from .helpers import daily, subscription

TERM = (date(2026, 1, 1), date(2027, 1, 1))


def reviews_for(
    changes: Sequence[tuple[date, int]],
    seats: int = 100,
    *,
    purchases: Sequence[tuple[date, int]] = (),
    collection: Collection = Collection.AUTOMATIC,
    as_of: date | None = None,
) -> tuple[QuarterlyReview, ...]:
    sub = subscription(*TERM, seats, purchases=purchases)
    return quarterly_seat_reviews(sub, daily(*TERM, changes), collection=collection, as_of=as_of)


def test_r34_q1_overage_is_charged_from_the_end_of_q1_to_the_end_of_the_term() -> None:
    q1, *_ = reviews_for([(date(2026, 1, 1), 100), (date(2026, 2, 16), 110)])
    assert q1.outcome is ReviewOutcome.CHARGED
    assert q1.overage == 10
    (item,) = q1.line_items
    assert item is not None
    assert (item.period_starts_on, item.period_ends_on) == (date(2026, 4, 1), date(2027, 1, 1))
    assert item.proration_label == "275/365"
    # 10 x 34800 x 275/365 = 262191.78... -> 262192 cents
    assert item.exact_amount == Fraction(10 * 34800 * 275, 365)
    assert q1.charge_cents == 262192


def test_r34_nothing_is_charged_for_the_time_in_the_quarter_the_users_were_added() -> None:
    # Users added on Q1's first day or on its last day cost the same: the charge starts at Q1's end.
    early, *_ = reviews_for([(date(2026, 1, 1), 110)])
    late, *_ = reviews_for([(date(2026, 1, 1), 100), (date(2026, 3, 31), 110)])
    assert early.charge_cents == late.charge_cents == 262192
    assert early.line_items[0].period_starts_on == date(2026, 4, 1)


def test_r34_q4_overage_is_never_charged() -> None:
    reviews = reviews_for([(date(2026, 1, 1), 100), (date(2026, 10, 1), 150)])
    q4 = reviews[3]
    assert q4.overage == 50
    assert q4.outcome is ReviewOutcome.LAST_QUARTER_NOT_CHARGED
    assert q4.charge_cents == 0 and q4.line_items == ()
    assert q4.licensed_seats_after == 100
    assert not q4.issues_new_license
    assert quarterly_review_invoice("A-S00000001", q4) is None


def test_r34_licensed_count_rises_by_the_charged_overage_so_users_are_not_charged_twice() -> None:
    reviews = reviews_for([(date(2026, 1, 1), 100), (date(2026, 2, 1), 112)])
    assert [r.licensed_seats for r in reviews] == [100, 112, 112, 112]
    assert [r.charge_cents for r in reviews] == [314630, 0, 0, 0]
    assert [r.outcome for r in reviews][1:3] == [ReviewOutcome.NO_OVERAGE] * 2
    assert reviews[0].issues_new_license


def test_r34_overage_falling_back_below_the_licensed_count_is_not_charged_nor_refunded() -> None:
    reviews = reviews_for(
        [(date(2026, 1, 1), 100), (date(2026, 2, 1), 120), (date(2026, 4, 1), 105)]
    )
    assert [r.overage for r in reviews] == [20, 0, 0, 0]
    assert [r.licensed_seats_after for r in reviews] == [120, 120, 120, 120]


def test_r34_no_overage_no_charge() -> None:
    reviews = reviews_for([(date(2026, 1, 1), 90), (date(2026, 6, 1), 100)])
    assert {r.outcome for r in reviews} == {ReviewOutcome.NO_OVERAGE}
    assert sum(r.charge_cents for r in reviews) == 0


def test_r34_q2_and_q3_charges_are_prorated_from_their_own_quarter_end() -> None:
    reviews = reviews_for(
        [(date(2026, 1, 1), 100), (date(2026, 5, 1), 105), (date(2026, 8, 1), 107)]
    )
    q2, q3 = reviews[1], reviews[2]
    assert [i.proration_label for i in q2.line_items] == ["184/365"]
    assert [i.proration_label for i in q3.line_items] == ["92/365"]
    assert q3.overage == 2  # 107 above the 105 licensed after Q2
    assert q2.charge_cents == 87715  # 5 x 34800 x 184/365 = 87715.07...
    assert q3.charge_cents == 17543  # 2 x 34800 x 92/365 = 17543.01...


def test_r34_leap_year_term_prorates_over_366_days() -> None:
    term = (date(2027, 11, 30), date(2028, 11, 30))
    sub = subscription(*term, 10)
    usage = daily(*term, [(term[0], 10), (date(2028, 1, 15), 13)])
    q1 = quarterly_seat_reviews(sub, usage, collection=Collection.AUTOMATIC)[0]
    assert q1.quarter.ends_on == date(2028, 2, 29)
    assert [i.proration_label for i in q1.line_items] == ["275/366"]
    assert q1.charge_cents == 78443  # 3 x 34800 x 275/366 = 78442.6...


def test_r34_seats_bought_during_the_quarter_count_as_licensed_at_its_end() -> None:
    reviews = reviews_for(
        [(date(2026, 1, 1), 100), (date(2026, 2, 1), 115)], purchases=[(date(2026, 3, 1), 10)]
    )
    assert reviews[0].licensed_seats == 110
    assert reviews[0].overage == 5


def test_r34_only_quarters_ended_by_as_of_are_reviewed() -> None:
    changes = [(date(2026, 1, 1), 100)]
    assert len(reviews_for(changes, as_of=date(2026, 3, 31))) == 0
    assert len(reviews_for(changes, as_of=date(2026, 4, 1))) == 1
    assert len(reviews_for(changes, as_of=date(2026, 9, 30))) == 2


def test_r34_with_seat_link_the_charge_is_invoiced_at_once() -> None:
    q1, *_ = reviews_for([(date(2026, 1, 1), 101)], collection=Collection.AUTOMATIC)
    assert q1.collection is Collection.AUTOMATIC
    assert q1.charge_state is ChargeState.INVOICED
    invoice = quarterly_review_invoice("A-S00000001", q1)
    assert invoice is not None
    assert invoice.kind is InvoiceKind.QUARTERLY_SEAT_REVIEW
    assert invoice.issued_on == date(2026, 4, 1)
    assert invoice.total_cents == q1.charge_cents == 26219  # 34800 x 275/365 = 26219.17...


def test_r34_without_seat_link_an_order_amendment_comes_before_the_invoice() -> None:
    q1, *_ = reviews_for([(date(2026, 1, 1), 101)], collection=Collection.ORDER_AMENDMENT)
    assert q1.charge_state is ChargeState.AMENDMENT_SENT
    assert (
        next_charge_state(q1.charge_state, ChargeEvent.AMENDMENT_ACCEPTED) is ChargeState.INVOICED
    )
    with pytest.raises(BillingError, match="not possible"):
        next_charge_state(ChargeState.INVOICED, ChargeEvent.AMENDMENT_ACCEPTED)


def test_r34_a_quarter_without_any_reading_is_not_reviewed() -> None:
    sub = subscription(*TERM, 100)
    q1 = term_quarters(sub.term)[0]
    review = review_quarter(sub, q1, [], licensed_seats=100, collection=Collection.AUTOMATIC)
    assert review.outcome is ReviewOutcome.NO_DATA
    assert review.charge_cents == 0 and review.licensed_seats_after == 100


def test_r34_a_quarter_of_another_term_is_refused() -> None:
    sub = subscription(*TERM, 100)
    other = Quarter(number=1, starts_on=date(2025, 1, 1), ends_on=date(2025, 4, 1))
    with pytest.raises(BillingError, match="quarter"):
        review_quarter(sub, other, [], licensed_seats=100, collection=Collection.AUTOMATIC)


def test_r32_r34_a_sales_check_in_maximum_is_reviewed_and_sent_as_an_order_amendment() -> None:
    sub = subscription(*TERM, 100)
    q1, q2, *_ = term_quarters(sub.term)
    first = review_quarter_utilization(
        sub,
        q1,
        reported_utilization(q1, 112),
        licensed_seats=100,
        collection=collection_for(has_seat_link=False),
    )
    assert first.utilization.source is UsageSource.SALES_CHECK_IN
    assert (first.overage, first.charge_cents) == (12, 314630)
    assert first.charge_state is ChargeState.AMENDMENT_SENT
    # Q2's check-in reports 110: Q1's maximum is not carried into Q2.
    second = review_quarter_utilization(
        sub,
        q2,
        reported_utilization(q2, 110),
        licensed_seats=first.licensed_seats_after,
        collection=Collection.ORDER_AMENDMENT,
    )
    assert second.outcome is ReviewOutcome.NO_OVERAGE


def test_r34_a_utilization_of_another_period_is_refused() -> None:
    sub = subscription(*TERM, 100)
    q1, q2, *_ = term_quarters(sub.term)
    with pytest.raises(BillingError, match="utilization"):
        review_quarter_utilization(
            sub,
            q2,
            reported_utilization(q1, 150),
            licensed_seats=100,
            collection=Collection.ORDER_AMENDMENT,
        )
