"""Invoices and line items: integer cents, rounded half up once per line item."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from portal.billing.policy.invoices import (
    BillingError,
    Invoice,
    InvoiceKind,
    LineItem,
    format_cents,
    round_half_up,
)


def item(**overrides: object) -> LineItem:
    fields: dict[str, object] = {
        "description": "Quarterly seat review Q1",
        "seats": 12,
        "period_starts_on": date(2026, 4, 1),
        "period_ends_on": date(2027, 1, 1),
        "unit_price_cents": 34800,
        "prorated_days": 275,
        "basis_days": 365,
    }
    fields.update(overrides)
    return LineItem(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),
        (Fraction(149, 100), 1),
        (Fraction(0), 0),
        (Fraction(2499, 1000), 2),
        (Fraction(5, 2), 3),
    ],
)
def test_round_half_up(amount: Fraction, cents: int) -> None:
    assert round_half_up(amount) == cents


def test_line_item_amount_is_computed_from_its_factors_and_rounded_once() -> None:
    line = item()
    assert line.proration == Fraction(275, 365)
    assert line.proration_label == "275/365"  # the day counts, not the reduced 55/73
    assert line.exact_amount == Fraction(12 * 34800 * 275, 365)
    assert line.amount_cents == 314630
    # Rounding per seat would give 12 x 26219 = 314628: the line rounds once.
    assert line.amount_cents != 12 * round_half_up(Fraction(34800 * 275, 365))


def test_a_line_item_rounds_a_half_cent_up() -> None:
    # 1 seat x 1 cent x 1/2 = half a cent -> 1 cent.
    assert item(seats=1, unit_price_cents=1, prorated_days=1, basis_days=2).amount_cents == 1


def test_invoice_total_is_the_sum_of_rounded_line_items() -> None:
    lines = (item(), item(seats=8, period_starts_on=date(2026, 7, 1), prorated_days=184))
    invoice = Invoice(
        subscription_name="A-S00000001",
        kind=InvoiceKind.QUARTERLY_SEAT_REVIEW,
        issued_on=date(2026, 7, 1),
        line_items=lines,
    )
    assert [line.amount_cents for line in lines] == [314630, 140344]
    assert invoice.total_cents == 454974
    assert invoice.total == "$4,549.74"
    assert invoice.currency == "USD"


@pytest.mark.parametrize(
    "overrides",
    [
        {"seats": 0},
        {"seats": True},
        {"unit_price_cents": -1},
        {"basis_days": 0},
        {"prorated_days": -1},
        {"description": "  "},
        {"period_ends_on": date(2026, 4, 1)},
        {"period_starts_on": "2026-04-01"},
    ],
)
def test_a_line_item_with_bad_fields_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(BillingError):
        item(**overrides)


def test_an_invoice_needs_line_items_and_a_subscription_name() -> None:
    with pytest.raises(BillingError, match="line_items"):
        Invoice(
            subscription_name="A-S1",
            kind=InvoiceKind.RENEWAL,
            issued_on=date(2027, 1, 1),
            line_items=(),
        )
    with pytest.raises(BillingError, match="subscription_name"):
        Invoice(
            subscription_name="",
            kind=InvoiceKind.RENEWAL,
            issued_on=date(2027, 1, 1),
            line_items=(item(),),
        )


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0.00"), (5, "$0.05"), (314630, "$3,146.30"), (4454400, "$44,544.00"), (-150, "-$1.50")],
)
def test_format_cents(cents: int, text: str) -> None:
    assert format_cents(cents) == text
