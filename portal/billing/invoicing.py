"""Invoices kept and sent: the policy's invoices stored with their line items and mailed, the
invoice of every order (R7), order amendments accepted (R34), and the new license a billing
change sends the contact.

Operations flush, never commit; the jobs and routes commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from portal.billing.policy import invoices as policy
from portal.billing.policy.reviews import ChargeEvent, ChargeState, next_charge_state
from portal.billing.review_inputs import ReviewRow
from portal.errors import Refused
from portal.licensing import notify_license_change
from portal.mail import queue_mail
from portal.models import (
    Invoice,
    InvoiceLine,
    InvoiceState,
    Order,
    SeatReview,
    Subscription,
    db,
    invoice_number,
)
from portal.pricing import format_money
from protocol.license import LicenseType
from webcore.db import insert_ids


def store_invoice(
    subscription: Subscription,
    invoice: policy.Invoice,
    now: dt.datetime,
    *,
    note: str | None = None,
) -> Invoice:
    """Keep an invoice of the policy with its line items, and mail it (or its amendment)."""
    row = record_invoice(subscription, invoice, now, note=note)
    queue_mail(*invoice_mail(subscription, row, invoice))
    return row


def record_invoice(
    subscription: Subscription,
    invoice: policy.Invoice,
    now: dt.datetime,
    *,
    state: str = InvoiceState.INVOICED,
    review: SeatReview | None = None,
    order: Order | None = None,
    note: str | None = None,
) -> Invoice:
    """Keep an invoice of the policy with its line items; the caller mails it (R7). An order's
    invoice (``order``) goes out with the order's confirmation (``portal.orders``)."""
    return db.inserted(
        _invoice_row(subscription, invoice, now, state, review, order=order, note=note)
    )


@dataclass(frozen=True)
class StoredInvoice:
    """An invoice ``store_invoices`` wrote: what its mail says of it, with no ORM entity."""

    id: int
    state: str
    issued_on: dt.date
    total_cents: int
    lines: tuple[policy.LineItem, ...]
    note: str | None = None

    @property
    def number(self) -> str:
        return invoice_number(self.id)


def store_invoices(
    invoices: list[tuple[Subscription, policy.Invoice, str, ReviewRow | None]],
    now: dt.datetime,
) -> list[StoredInvoice]:
    """Keep each (subscription, invoice, state, review) of a billing run with its line items, in
    two Core inserts (the invoices, then every line); the caller queues ``invoice_mail`` of each
    with its other mails."""
    if not invoices:
        return []
    connection = db.session.connection()
    ids = insert_ids(
        connection,
        Invoice.__table__,
        [
            {
                "subscription_id": subscription.id,
                "kind": invoice.kind.value,
                "issued_on": invoice.issued_on,
                "issued_at": now,
                "state": state,
                "total_cents": invoice.total_cents,
                "seat_review_id": review.id if review else None,
                "invoiced_at": now if state == InvoiceState.INVOICED else None,
                "order_id": None,
                "note": None,
            }
            for subscription, invoice, state, review in invoices
        ],
    )
    stored = [
        StoredInvoice(invoice_id, state, invoice.issued_on, invoice.total_cents, invoice.line_items)
        for invoice_id, (_, invoice, state, _) in zip(ids, invoices, strict=True)
    ]
    connection.execute(
        sa.insert(InvoiceLine.__table__),
        [
            {"invoice_id": row.id, "position": position, **_line_values(item)}
            for row in stored
            for position, item in enumerate(row.lines, start=1)
        ],
    )
    return stored


def _line_values(item: policy.LineItem) -> dict[str, object]:
    return {
        "description": item.description,
        "seats": item.seats,
        "period_starts_on": item.period_starts_on,
        "period_ends_on": item.period_ends_on,
        "unit_price_cents": item.unit_price_cents,
        "prorated_days": item.prorated_days,
        "basis_days": item.basis_days,
        "amount_cents": item.amount_cents,
    }


def _invoice_row(
    subscription: Subscription,
    invoice: policy.Invoice,
    now: dt.datetime,
    state: str,
    review: SeatReview | None,
    *,
    order: Order | None = None,
    note: str | None = None,
) -> Invoice:
    return Invoice(
        subscription_id=subscription.id,
        kind=invoice.kind.value,
        issued_on=invoice.issued_on,
        issued_at=now,
        state=state,
        total_cents=invoice.total_cents,
        seat_review_id=review.id if review else None,
        invoiced_at=now if state == InvoiceState.INVOICED else None,
        order=order,
        note=note,
        lines=[
            InvoiceLine(position=position, **_line_values(item))
            for position, item in enumerate(invoice.line_items, start=1)
        ],
    )


def invoice_text(row: Invoice | StoredInvoice) -> str:
    """An invoice as a mail says it: each line with the period it covers, the total, the note."""
    lines = "\n".join(
        f"- {line.description} ({line.period_starts_on} .. "
        f"{line.period_ends_on - dt.timedelta(days=1)}): {line.seats} x "
        f"{format_money(line.unit_price_cents)} x {line.proration_label} = "
        f"{format_money(line.amount_cents)}"
        for line in row.lines
    )
    note = f"\n\n{row.note}" if row.note else ""
    return f"{lines}\n\nTotal: {format_money(row.total_cents)}{note}"


def invoice_mail(
    subscription: Subscription, row: Invoice | StoredInvoice, invoice: policy.Invoice
) -> tuple[str, Subscription, str, str]:
    """The mail of a stored invoice (or of its order amendment), as ``queue_mail`` takes it."""
    if row.state == InvoiceState.AMENDMENT_SENT:
        subject = f"Order amendment for {subscription.name}: {invoice.kind.label}"
        intro = (
            "Your quarterly seat review found more users than your subscription licenses. "
            "Please review and accept this order amendment; the invoice follows once accepted."
        )
        kind = "order_amendment"
    else:
        subject = f"Invoice {row.number} for {subscription.name}: {invoice.kind.label}"
        intro = f"Invoice {row.number}, issued {row.issued_on}."
        kind = "invoice"
    return kind, subscription, subject, f"{intro}\n\n{invoice_text(row)}"


def accept_amendment(invoice: Invoice, now: dt.datetime) -> Invoice:
    """R34 without Seat Link: the customer accepted the order amendment; it is now invoiced."""
    try:
        state = next_charge_state(ChargeState(invoice.state), ChargeEvent.AMENDMENT_ACCEPTED)
    except policy.BillingError:
        raise Refused(f"Invoice {invoice.number} is not waiting for an order amendment.") from None
    invoice.state = state.value
    invoice.invoiced_at = now
    db.session.flush()
    queue_mail(
        "invoice",
        invoice.subscription,
        f"Invoice {invoice.number} for {invoice.subscription.name}",
        f"Thank you for accepting the order amendment. Invoice {invoice.number}: "
        f"{format_money(invoice.total_cents)}.",
    )
    return invoice


def invoices_of(subscription: Subscription) -> list[Invoice]:
    return list(
        db.session.execute(
            sa.select(Invoice)
            .where(Invoice.subscription_id == subscription.id)
            .order_by(Invoice.issued_on.desc(), Invoice.id.desc())
        ).scalars()
    )


def all_invoices(limit: int = 500) -> list[Invoice]:
    return list(
        db.session.execute(
            sa.select(Invoice).order_by(Invoice.issued_on.desc(), Invoice.id.desc()).limit(limit)
        ).scalars()
    )


def send_new_license(subscription: Subscription, now: dt.datetime, why: str) -> None:
    """R34, R36: each seat adjustment and each renewal sends the contact a new license.

    A license file (offline, legacy) is attached; an online cloud license reaches the instance at
    its next sync, and the mail says so.
    """
    if subscription.license_type == LicenseType.ONLINE_CLOUD.value:
        queue_mail(*new_cloud_license_mail(subscription, why))
    else:
        notify_license_change(subscription, now, why)


def new_cloud_license_mail(
    subscription: Subscription, why: str
) -> tuple[str, Subscription, str, str]:
    """The mail of a new online cloud license: it reaches the instance at its next sync."""
    return (
        "license",
        subscription,
        f"Your new GitLab license for {subscription.name}",
        f"{why}\n\nYour new license ({subscription.seats} seats, until "
        f"{subscription.ends_on}) reaches your instance at its next daily sync, or at once "
        "with Admin > Subscription > Synchronize subscription.",
    )
