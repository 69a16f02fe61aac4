"""R36: auto-renewal at the current active user count unless cancelled 30 days before."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.billing.policy.calendar import Period
from portal.billing.policy.invoices import BillingError, InvoiceKind
from portal.billing.policy.renewals import (
    Cancellation,
    Renewal,
    add_on_renewal,
    decide_renewal,
    final_review_invoice,
    renewal_invoice,
)
from portal.billing.policy.reviews import annual_seat_reviews

from .helpers import daily, subscription

RENEWS_ON = date(2027, 1, 1)


def test_r36_renews_at_the_current_active_user_count_for_another_year() -> None:
    decision = decide_renewal(renews_on=RENEWS_ON, active_users=128)
    assert decision == Renewal(
        renews_on=RENEWS_ON,
        new_term=Period(starts_on=RENEWS_ON, ends_on=date(2028, 1, 1)),
        seats=128,
    )


@pytest.mark.parametrize(
    ("days_before", "cancelled"),
    [(31, True), (30, True), (29, False), (0, False), (-3, False)],
)
def test_r36_cancellation_stops_the_renewal_only_if_given_at_least_30_days_before(
    days_before: int, cancelled: bool
) -> None:
    notified_on = RENEWS_ON - timedelta(days=days_before)
    decision = decide_renewal(
        renews_on=RENEWS_ON, active_users=90, cancellation_notified_on=notified_on
    )
    if cancelled:
        assert decision == Cancellation(renews_on=RENEWS_ON, notified_on=notified_on)
    else:
        assert isinstance(decision, Renewal)
        assert decision.seats == 90
        assert decision.late_cancellation_on == notified_on


def test_r36_renewal_is_for_at_least_one_seat() -> None:
    decision = decide_renewal(renews_on=RENEWS_ON, active_users=0)
    assert isinstance(decision, Renewal) and decision.seats == 1


def test_r36_renewal_from_a_month_end_clamps_the_new_term() -> None:
    decision = decide_renewal(renews_on=date(2028, 2, 29), active_users=5)
    assert isinstance(decision, Renewal)
    assert decision.new_term.ends_on == date(2029, 2, 28)


def test_r35_r36_renewal_invoice_carries_the_prior_terms_overage_and_the_renewed_seats() -> None:
    term = (date(2026, 1, 1), RENEWS_ON)
    reviews = annual_seat_reviews(
        subscription(*term, 100), daily(*term, [(term[0], 100), (date(2026, 7, 1), 104)])
    )
    renewal = decide_renewal(renews_on=RENEWS_ON, active_users=104)
    assert isinstance(renewal, Renewal)
    invoice = renewal_invoice(
        "A-S00000042", renewal, list_price_cents=34800, annual_reviews=reviews
    )
    assert invoice.kind is InvoiceKind.RENEWAL
    assert invoice.issued_on == RENEWS_ON
    assert [(i.seats, i.amount_cents) for i in invoice.line_items] == [(4, 139200), (104, 3619200)]
    assert invoice.total_cents == 3758400
    assert invoice.total == "$37,584.00"


def test_r5_a_renewed_add_on_is_a_line_after_the_renewed_seats_priced_for_the_new_term() -> None:
    renewal = decide_renewal(renews_on=RENEWS_ON, active_users=30)
    assert isinstance(renewal, Renewal)
    add_on = add_on_renewal(renewal, tier="duo_pro", quantity=20, unit_price_cents=22800)
    assert add_on.description == "Renewal: 20 add-on seats (duo pro)"
    assert (add_on.period_starts_on, add_on.period_ends_on) == (RENEWS_ON, date(2028, 1, 1))
    assert add_on.proration_label == "365/365"
    assert add_on.amount_cents == 20 * 22800
    invoice = renewal_invoice("A-S00000042", renewal, list_price_cents=34800, add_ons=[add_on])
    assert [i.seats for i in invoice.line_items] == [30, 20]
    assert invoice.total_cents == 30 * 34800 + 20 * 22800


@pytest.mark.parametrize("active_users", [-1, True, "5"])
def test_r36_bad_active_user_count_is_refused(active_users: object) -> None:
    with pytest.raises(BillingError, match="active_users"):
        decide_renewal(renews_on=RENEWS_ON, active_users=active_users)  # type: ignore[arg-type]


def test_r35_r36_a_cancelled_annual_subscription_still_pays_its_overage_without_renewal() -> None:
    term = (date(2026, 1, 1), RENEWS_ON)
    reviews = annual_seat_reviews(
        subscription(*term, 100), daily(*term, [(term[0], 100), (date(2026, 9, 1), 103)])
    )
    decision = decide_renewal(
        renews_on=RENEWS_ON, active_users=103, cancellation_notified_on=date(2026, 11, 1)
    )
    assert isinstance(decision, Cancellation)
    invoice = final_review_invoice("A-S00000043", decision, reviews)
    assert invoice is not None
    assert invoice.kind is InvoiceKind.ANNUAL_SEAT_REVIEW
    assert [(i.seats, i.amount_cents) for i in invoice.line_items] == [(3, 104400)]
    quiet = annual_seat_reviews(subscription(*term, 100), daily(*term, [(term[0], 90)]))
    assert final_review_invoice("A-S00000043", decision, quiet) is None
