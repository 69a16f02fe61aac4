"""Consumption-based add-ons for a GitLab.com top-level group (R6): compute minutes and storage.

Rules (GitLab's pricing and docs for GitLab.com):
- Compute minutes are sold in packs of 1,000 for $10; a pack is usable for 12 months after the
  purchase (its expiry, exclusive), the minutes of a month's quota first, then the packs.
- Storage is sold in packs of 10 GiB for $60 a year; a pack covers storage above the free 10 GiB
  per project for a year after the purchase.
- Either is bought for the group a subscription is linked to (``portal.gitlab_com``), charged
  once per submitted form (the order claims its idempotency key before the card is charged),
  confirmed by mail to the subscription contact (R7), and pushed to GitLab.com at once with the
  group's whole state: every pack not expired today (``build_consumables``).
- Each order is one purchase of ``quantity`` packs; its id names the pack on GitLab.com
  (``purchase_xid``), so a pack's usage there survives every later push.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.errors import Refused
from portal.gitlab_com.consumable_packs import MINUTES_PER_PACK, a_year_after
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.provisioning import link_of, schedule_push
from portal.models import Order, OrderKind, PaymentMethod, Subscription, db
from portal.orders import SELF_SERVE, OrderTerms, place_order, seats_line
from portal.subscriptions import is_active, lock

MINUTES_PACK_CENTS = 10_00
STORAGE_PACK_CENTS = 60_00
MAX_PACKS = 1_000


@dataclass(frozen=True)
class Consumable:
    kind: str  # an OrderKind
    unit_cents: int
    label: str  # what one pack is, in the customer's words

    def describe(self, packs: int) -> str:
        if self.kind == OrderKind.COMPUTE_MINUTES:
            return f"{packs * MINUTES_PER_PACK:,} compute minutes"
        return f"{packs * 10} GiB of storage"


CONSUMABLES = {
    OrderKind.COMPUTE_MINUTES: Consumable(
        OrderKind.COMPUTE_MINUTES, MINUTES_PACK_CENTS, "1,000 compute minutes"
    ),
    OrderKind.STORAGE: Consumable(OrderKind.STORAGE, STORAGE_PACK_CENTS, "10 GiB of storage"),
}


def group_link(namespace_id: int) -> NamespaceLink | None:
    return db.find(NamespaceLink, NamespaceLink.namespace_id == namespace_id)


def check_consumable(subscription: Subscription, kind: str, packs: int, today: dt.date) -> None:
    """R6: packs for the group of an active GitLab.com subscription, 1 to 1,000 at a time."""
    if kind not in CONSUMABLES:
        raise Refused("Choose compute minutes or storage.", code="invalid_product")
    if link_of(subscription) is None:
        raise Refused(
            f"{subscription.name} is not linked to a GitLab.com group: compute minutes and "
            "storage are bought for a group.",
            code="namespace_missing",
            rule="R6",
        )
    if not is_active(subscription, today):
        raise Refused(f"{subscription.name} is not active.", code="subscription_inactive")
    if not 1 <= packs <= MAX_PACKS:
        raise Refused(f"Enter a number of packs from 1 to {MAX_PACKS}.", code="invalid_quantity")


def consumable_quote(kind: str, packs: int) -> int:
    return CONSUMABLES[kind].unit_cents * packs


def buy_consumable(
    terms: OrderTerms, kind: str, packs: int, payment_method: PaymentMethod | None
) -> Order:
    """R6, R7: buy ``packs`` of compute minutes or storage for the subscription's group, invoiced
    like every order: one line of ``packs`` at the pack's price, for the year the packs last.

    The order row is written before the charge (it claims the form's key); a declined card
    raises and the caller's rollback removes it.
    """
    subscription, today = terms.subscription, terms.today
    lock(subscription)
    check_consumable(subscription, kind, packs, today)
    if payment_method is None or payment_method.account_id != subscription.customer_id:
        raise Refused("Choose one of your payment methods.", code="invalid_payment_method")
    consumable = CONSUMABLES[kind]
    link = link_of(subscription)
    assert link is not None
    what = f"{consumable.describe(packs)} for {link.namespace_path}"
    expires_on = a_year_after(today)
    year = (expires_on - today).days  # a pack's price is for its whole year: never prorated
    line = seats_line(
        f"{consumable.label} packs for {link.namespace_path}",
        packs,
        consumable.unit_cents,
        today,
        expires_on,
        basis_days=year,
    )
    order = place_order(
        terms,
        SELF_SERVE,
        kind,
        packs,
        (line,),
        what=f"{what}, usable until {expires_on.isoformat()} (Settings > Usage Quotas on GitLab.com)",
        pay_with=payment_method,
    )
    schedule_push(subscription.id, terms.now)
    return order
