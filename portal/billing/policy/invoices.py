# Invoices and their line items, money in integer cents.
#
# Rules this module enforces:
# - Money is an integer number of cents; a fraction of a cent exists only inside one line item's
#   computation and is rounded half up once, at the end of that line item (never per seat, never
#   on the total). The total of an invoice is the plain sum of its line items.
# - A line item shows how its amount was reached: seats x unit price (per seat per year) x a
#   proration factor kept as two day counts ("275/365"), so a reader can redo the sum by hand.
#   The amount is computed on construction, so a line item can never disagree with its factors.
# - Periods are half-open, [starts_on, ends_on): ends_on is the first day no longer covered, the
#   convention of subscriptions and licenses (R34, R35).
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

__all__ = [
    "BillingError",
    "Invoice",
    "InvoiceKind",
    "LineItem",
    "format_cents",
    "round_half_up",
]


class BillingError(ValueError):
    """Bad input to a billing computation; the message names the field and never holds secrets."""


def round_half_up(amount: Fraction) -> int:
    """``amount`` (cents, not negative) rounded to a whole cent, halves going up."""
    if amount < 0:
        raise BillingError("amount: must not be negative")
    return math.floor(amount + Fraction(1, 2))


def format_cents(cents: int) -> str:
    """``454974`` → ``"$4,549.74"`` (US dollars, the list price's currency)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def check_count(what: str, value: object, *, minimum: int = 0) -> int:
    # bool is an int; True seats is a bug, not one seat.
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise BillingError(f"{what}: expected {wanted}, got {value!r}")
    return value


def check_day(what: str, value: object) -> date:
    # A datetime is a date too, but it would carry a time of day and a time zone the billing
    # policy does not speak of: billing counts whole days.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise BillingError(f"{what}: expected a date, got {value!r}")
    return value


class InvoiceKind(enum.StrEnum):
    QUARTERLY_SEAT_REVIEW = "quarterly_seat_review"  # R34
    RENEWAL = "renewal"  # R35 (overage of the prior term) and R36 (the renewed seats)
    ANNUAL_SEAT_REVIEW = "annual_seat_review"  # R35 for a term that ends without renewal
    ORDER = "order"  # a purchase, Add seats or a sales order (R7)

    @property
    def label(self) -> str:
        return {
            InvoiceKind.QUARTERLY_SEAT_REVIEW: "Quarterly seat review",
            InvoiceKind.RENEWAL: "Renewal",
            InvoiceKind.ANNUAL_SEAT_REVIEW: "Annual seat review",
            InvoiceKind.ORDER: "Order",
        }[self]


@dataclass(frozen=True, kw_only=True)
class LineItem:
    """One line of an invoice: ``seats x unit_price_cents x prorated_days/basis_days``.

    ``unit_price_cents`` is the list price of one seat for a year. ``basis_days`` is the number
    of days that price pays for (the days of the subscription year, 365 or 366) and
    ``prorated_days`` the number of days charged; an unprorated year has them equal.
    """

    description: str
    seats: int
    period_starts_on: date
    period_ends_on: date  # exclusive
    unit_price_cents: int
    prorated_days: int
    basis_days: int
    amount_cents: int = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.description, str) or not self.description.strip():
            raise BillingError("description: must not be empty")
        check_count("seats", self.seats, minimum=1)
        check_day("period_starts_on", self.period_starts_on)
        check_day("period_ends_on", self.period_ends_on)
        if self.period_ends_on <= self.period_starts_on:
            raise BillingError("period_ends_on: must be after period_starts_on")
        check_count("unit_price_cents", self.unit_price_cents)
        check_count("prorated_days", self.prorated_days)
        check_count("basis_days", self.basis_days, minimum=1)
        amount = round_half_up(self.seats * self.unit_price_cents * self.proration)
        object.__setattr__(self, "amount_cents", amount)

    @property
    def proration(self) -> Fraction:
        return Fraction(self.prorated_days, self.basis_days)

    @property
    def proration_label(self) -> str:
        """The factor as the two day counts it came from, e.g. ``"275/365"`` (not ``"55/73"``)."""
        return f"{self.prorated_days}/{self.basis_days}"

    @property
    def exact_amount(self) -> Fraction:
        """The amount before rounding, in cents."""
        return self.seats * self.unit_price_cents * self.proration


@dataclass(frozen=True, kw_only=True)
class Invoice:
    """An invoice for one subscription: its line items and their total, in US cents."""

    subscription_name: str
    kind: InvoiceKind
    issued_on: date
    line_items: tuple[LineItem, ...]
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not isinstance(self.subscription_name, str) or not self.subscription_name.strip():
            raise BillingError("subscription_name: must not be empty")
        if not isinstance(self.kind, InvoiceKind):
            raise BillingError(f"kind: expected an InvoiceKind, got {self.kind!r}")
        check_day("issued_on", self.issued_on)
        if not isinstance(self.line_items, tuple) or not self.line_items:
            raise BillingError("line_items: an invoice needs at least one line item")
        for item in self.line_items:
            if not isinstance(item, LineItem):
                raise BillingError(f"line_items: expected LineItem, got {item!r}")

    @property
    def total_cents(self) -> int:
        return sum(item.amount_cents for item in self.line_items)

    @property
    def total(self) -> str:
        return format_cents(self.total_cents)
