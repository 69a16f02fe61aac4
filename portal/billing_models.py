"""The billing models: what instances report of their usage, and the seat reviews, sales
check-ins and invoices built on it (R32-R36). Split from ``portal.models`` by job; that module
re-exports every name here and imports this module, so importing it registers these tables too.
Import these names from ``portal.models``: this module imports it, so loading this one first
would reach ``portal.models``' re-export before the classes below exist."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Account, Order, OrderKind, Subscription, db

# -- usage reported by instances (R32) -----------------------------------------------------------


class UsageReport(db.Model):  # type: ignore[name-defined]
    """What an instance reported in one daily sync (R32)."""

    __tablename__ = "usage_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), index=True)
    instance_id: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[dt.datetime]
    gitlab_version: Mapped[str] = mapped_column(sa.String(40))
    billable_users: Mapped[int]
    max_historical_users: Mapped[int]
    add_on_usage: Mapped[list[Any]]
    daily_usage: Mapped[list[Any]]


class DailyUsageCount(db.Model):  # type: ignore[name-defined]
    """One day's billable user count of a subscription's instance, as its syncs reported it (R32).

    Kept by the database itself: a trigger on ``usage_reports`` (migration 0009) upserts the
    days of each report's ``daily_usage``, the latest report of a day winning, so the seat
    review aggregates days with GROUP BY instead of expanding every report's list.
    """

    __tablename__ = "daily_usage_counts"

    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    billable_users: Mapped[int]


# -- billing: seat reviews, check-ins, invoices (R32-R36, see portal/billing/) ---------------------


class SeatReviewKind:
    QUARTERLY = "quarterly"  # R34
    ANNUAL = "annual"  # R35


class SeatReview(db.Model):  # type: ignore[name-defined]
    """One seat review of one period of a subscription's term; a period is reviewed once."""

    __tablename__ = "seat_reviews"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "kind", "period_starts_on", "period_ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # SeatReviewKind values
    label: Mapped[str] = mapped_column(sa.String(20))  # "Q1" .. or "Term"
    term_starts_on: Mapped[dt.date]
    term_ends_on: Mapped[dt.date]
    period_starts_on: Mapped[dt.date]
    period_ends_on: Mapped[dt.date]  # exclusive
    measured_maximum: Mapped[int | None]  # None: no usage data (outcome no_data)
    peak_day: Mapped[dt.date | None]
    source: Mapped[str] = mapped_column(sa.String(20))  # daily_readings | sales_check_in
    licensed_seats: Mapped[int]
    overage: Mapped[int]
    outcome: Mapped[str] = mapped_column(sa.String(30))  # billing.policy.reviews.ReviewOutcome
    reviewed_at: Mapped[dt.datetime]


class SalesCheckIn(db.Model):  # type: ignore[name-defined]
    """A period's maximum active users, reported to sales by a customer without Seat Link (R32)."""

    __tablename__ = "sales_check_ins"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "period_starts_on", "period_ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), index=True)
    period_starts_on: Mapped[dt.date]
    period_ends_on: Mapped[dt.date]  # exclusive
    reported_maximum: Mapped[int]
    entered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    entered_at: Mapped[dt.datetime]

    entered_by: Mapped[Account] = relationship()


def invoice_number(invoice_id: int) -> str:
    return f"INV-{invoice_id:08d}"


class InvoiceState:
    AMENDMENT_SENT = "amendment_sent"  # R34 without Seat Link: waiting for the customer
    INVOICED = "invoiced"
    LABELS = {AMENDMENT_SENT: "Order amendment sent", INVOICED: "Invoiced"}


class Invoice(db.Model):  # type: ignore[name-defined]
    """An invoice of a seat review, a renewal or an order; money in integer cents (R7, R34-R36)."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))  # billing.policy.invoices.InvoiceKind values
    issued_on: Mapped[dt.date]
    issued_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(sa.String(20))  # InvoiceState values
    total_cents: Mapped[int]
    seat_review_id: Mapped[int | None] = mapped_column(sa.ForeignKey("seat_reviews.id"))
    invoiced_at: Mapped[dt.datetime | None]
    # The order this invoice bills (a purchase, Add seats, a sales order); one invoice an order.
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    # What the invoice must explain, e.g. which active user count a renewal used and why (R36).
    note: Mapped[str | None] = mapped_column(sa.Text)

    subscription: Mapped[Subscription] = relationship()
    order: Mapped[Order | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position"
    )

    @property
    def number(self) -> str:
        return invoice_number(self.id)

    @property
    def state_label(self) -> str:
        return InvoiceState.LABELS.get(self.state, self.state)

    @property
    def kind_label(self) -> str:
        if self.order is not None and self.kind == "order":
            return OrderKind.LABELS[self.order.kind]
        return self.kind.replace("_", " ").capitalize()


class InvoiceLine(db.Model):  # type: ignore[name-defined]
    """``seats x unit price x prorated_days/basis_days``, rounded half up once (docs/billing.md)."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    position: Mapped[int]
    description: Mapped[str] = mapped_column(sa.String(300))
    seats: Mapped[int]
    period_starts_on: Mapped[dt.date]
    period_ends_on: Mapped[dt.date]  # exclusive
    unit_price_cents: Mapped[int]
    prorated_days: Mapped[int]
    basis_days: Mapped[int]
    amount_cents: Mapped[int]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    @property
    def proration_label(self) -> str:
        return f"{self.prorated_days}/{self.basis_days}"

    @property
    def last_day(self) -> dt.date:
        return self.period_ends_on - dt.timedelta(days=1)
