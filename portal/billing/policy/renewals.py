# Renewal: renew at the active user count, or end when notice was given in time.
#
# - R36 A subscription auto-renews at its current active user count unless the customer gave
#   notice of cancellation at least 30 days before the renewal date (exactly 30 is in time).
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from portal.billing.policy.calendar import MONTHS_PER_YEAR, Period, add_months, year_days
from portal.billing.policy.invoices import Invoice, InvoiceKind, LineItem, check_count, check_day
from portal.billing.policy.reviews import AnnualReview

__all__ = [
    "CANCELLATION_NOTICE_DAYS",
    "Cancellation",
    "Renewal",
    "add_on_renewal",
    "annual_review_invoice",
    "decide_renewal",
    "final_review_invoice",
    "renewal_invoice",
]

CANCELLATION_NOTICE_DAYS = 30
"""A cancellation given this many days or more before the renewal date stops it (R36)."""


@dataclass(frozen=True, kw_only=True)
class Renewal:
    """The subscription renews on ``renews_on`` for ``seats`` seats over ``new_term``."""

    renews_on: date
    new_term: Period
    seats: int
    late_cancellation_on: date | None = None  # notice given, but under 30 days before


@dataclass(frozen=True, kw_only=True)
class Cancellation:
    """The subscription ends on ``renews_on``: notice was given in time."""

    renews_on: date
    notified_on: date


def decide_renewal(
    *,
    renews_on: date,
    active_users: int,
    cancellation_notified_on: date | None = None,
    term_months: int = MONTHS_PER_YEAR,
) -> Renewal | Cancellation:
    """Renew at the current active user count, or cancel if told at least 30 days before (R36).

    ``renews_on`` is the end of the current term. Notice given exactly 30 days before counts as
    in time; 29 days is too late and the subscription renews. A renewal is for at least one
    seat, even when no user is active.
    """
    check_day("renews_on", renews_on)
    check_count("active_users", active_users)
    check_count("term_months", term_months, minimum=1)
    late: date | None = None
    if cancellation_notified_on is not None:
        check_day("cancellation_notified_on", cancellation_notified_on)
        if (renews_on - cancellation_notified_on).days >= CANCELLATION_NOTICE_DAYS:
            return Cancellation(renews_on=renews_on, notified_on=cancellation_notified_on)
        late = cancellation_notified_on
    return Renewal(
        renews_on=renews_on,
        new_term=Period(starts_on=renews_on, ends_on=add_months(renews_on, term_months)),
        seats=max(active_users, 1),
        late_cancellation_on=late,
    )


def renewal_invoice(
    subscription_name: str,
    renewal: Renewal,
    *,
    list_price_cents: int,
    annual_reviews: Iterable[AnnualReview] = (),
    add_ons: Iterable[LineItem] = (),
) -> Invoice:
    """The renewal invoice: any annual overage (R35), the renewed seats for the new term, then
    the renewed add-ons (``add_on_renewal``).

    The new term is priced per seat per year: a 12-month term is the list price, another length
    its days over the days of its first year.
    """
    check_count("list_price_cents", list_price_cents)
    term = renewal.new_term
    renewed = LineItem(
        description=f"Renewal: {renewal.seats} seats at list price",
        seats=renewal.seats,
        period_starts_on=term.starts_on,
        period_ends_on=term.ends_on,
        unit_price_cents=list_price_cents,
        prorated_days=term.days,
        basis_days=year_days(term.starts_on),
    )
    overages = tuple(r.line_item for r in annual_reviews if r.line_item is not None)
    return Invoice(
        subscription_name=subscription_name,
        kind=InvoiceKind.RENEWAL,
        issued_on=renewal.renews_on,
        line_items=(*overages, renewed, *add_ons),
    )


def add_on_renewal(
    renewal: Renewal, *, tier: str, quantity: int, unit_price_cents: int
) -> LineItem:
    """The line of an add-on renewed with the subscription: ``quantity`` seats of ``tier`` over
    the new term, priced like the renewed seats (per seat per year, by days otherwise)."""
    term = renewal.new_term
    return LineItem(
        description=f"Renewal: {quantity} add-on seats ({tier.replace('_', ' ')})",
        seats=quantity,
        period_starts_on=term.starts_on,
        period_ends_on=term.ends_on,
        unit_price_cents=unit_price_cents,
        prorated_days=term.days,
        basis_days=year_days(term.starts_on),
    )


def final_review_invoice(
    subscription_name: str, cancellation: Cancellation, annual_reviews: Iterable[AnnualReview]
) -> Invoice | None:
    """The annual overage of a term that ends without renewal, if any (R35, R36).

    *(choice)* The policy invoices the prior term's overage with the renewal; a cancelled
    subscription has no renewal, but the users were still used, so the overage is invoiced
    alone on the day the term ends.
    """
    return annual_review_invoice(
        subscription_name, annual_reviews, issued_on=cancellation.renews_on
    )


def annual_review_invoice(
    subscription_name: str, reviews: Iterable[AnnualReview], *, issued_on: date
) -> Invoice | None:
    """The overages of annual reviews invoiced on their own (R35), if any: a year of a longer
    term at its end, or a term whose renewal was invoiced when sales booked it."""
    check_day("issued_on", issued_on)
    overages = tuple(r.line_item for r in reviews if r.line_item is not None)
    if not overages:
        return None
    return Invoice(
        subscription_name=subscription_name,
        kind=InvoiceKind.ANNUAL_SEAT_REVIEW,
        issued_on=issued_on,
        line_items=overages,
    )
