"""Placing an order: its row, its charge, its invoice and its confirmation (R7).

Every self-serve purchase and sales order of ``portal.purchases`` ends here, once its rules have
passed:
- the order row is written first and claims the form's idempotency key (``portal.idempotency``),
  so a second submission of the form fails before it charges;
- a self-serve order is then charged to the customer's card; a sales order is invoiced only;
- its invoice lists what was sold, a line each, with the period each line covers, and its total
  is the order's amount (a $0 trial extension is a $0 line);
- the subscription contact gets one confirmation carrying the invoice (R7), and a new license
  where one is issued. Mail is queued in the order's transaction and delivered after its commit.

Operations flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.billing.invoicing import invoice_text, record_invoice
from portal.billing.policy.invoices import Invoice as PolicyInvoice
from portal.billing.policy.invoices import InvoiceKind, LineItem
from portal.licensing import notify_license_change
from portal.mail import queue_mail
from portal.models import Account, AddOnPurchase, Order, PaymentMethod, Subscription, db
from portal.payments import payment_gateway
from portal.pricing import format_money

SELF_SERVE = "self_serve"
SALES = "sales"
# The price list's year *(choice)*: seats bought for part of a term are charged by days over
# 365, whatever the year, so a purchase costs the same in a leap year.
PRICE_YEAR_DAYS = 365
DUO_TAKES_EFFECT = (
    "GitLab Duo purchases reach your instance with its next daily synchronization; an "
    "administrator can synchronize at once under Admin > Subscription."
)


@dataclass(frozen=True, kw_only=True)
class OrderTerms:
    """Who orders on which subscription, when, and the key of the form that placed it (one
    order per key): what every order operation of ``portal.purchases`` takes first."""

    subscription: Subscription
    placed_by: Account | None
    now: dt.datetime
    idempotency_key: str | None = None

    @property
    def today(self) -> dt.date:
        return self.now.date()


def seats_line(
    description: str,
    seats: int,
    unit_price_cents: int,
    starts_on: dt.date,
    ends_on: dt.date,
    basis_days: int = PRICE_YEAR_DAYS,
) -> LineItem:
    """``seats`` at a price per seat for ``basis_days`` (the price list's year), from
    ``starts_on`` up to ``ends_on``, prorated by days."""
    return LineItem(
        description=description,
        seats=seats,
        period_starts_on=starts_on,
        period_ends_on=ends_on,
        unit_price_cents=unit_price_cents,
        prorated_days=(ends_on - starts_on).days,
        basis_days=basis_days,
    )


def place_order(
    terms: OrderTerms,
    channel: str,
    kind: str,
    quantity: int,
    items: tuple[LineItem, ...],
    *,
    what: str,
    invoice_kind: InvoiceKind = InvoiceKind.ORDER,
    purchase: AddOnPurchase | None = None,
    note: str = "",
    pay_with: PaymentMethod | None = None,
    takes_effect: str = DUO_TAKES_EFFECT,
) -> Order:
    """R7: record the order placed through ``channel`` (``SELF_SERVE`` or ``SALES``), charge
    ``pay_with`` (self-serve), invoice ``items`` and confirm.

    ``what`` says what was sold, in the confirmation and on the card statement; ``takes_effect``
    ends the confirmation with when the customer gets it. A declined card raises; the caller's
    rollback removes the order and its invoice.
    """
    subscription = terms.subscription
    invoice = PolicyInvoice(
        subscription_name=subscription.name,
        kind=invoice_kind,
        issued_on=terms.today,
        line_items=items,
    )
    # Inserted now: that claims the idempotency key, so a second claim fails here, before a charge.
    order = db.inserted(
        Order(
            subscription_id=subscription.id,
            kind=kind,
            channel=channel,
            quantity=quantity,
            amount_cents=invoice.total_cents,
            add_on_purchase_id=purchase.id if purchase else None,
            placed_by_id=terms.placed_by.id if terms.placed_by else None,
            note=note,
            created_at=terms.now,
            idempotency_key=terms.idempotency_key,
        )
    )
    if pay_with is not None:
        order.payment_reference = payment_gateway().charge(
            pay_with, order.amount_cents, f"{what} on {subscription.name}"
        )
    row = record_invoice(subscription, invoice, terms.now, order=order)
    queue_mail(
        "purchase_confirmation",
        subscription,
        f"Your purchase for {subscription.name} is confirmed",
        f"Thank you for your order #{order.id}: {what}.\nAmount: {format_money(order.amount_cents)}."
        f"\n\nInvoice {row.number}, issued {row.issued_on}:\n{invoice_text(row)}\n\n{takes_effect}",
    )
    notify_license_change(subscription, terms.now, f"Your order #{order.id} changed your license.")
    return order
