"""What a GitLab.com group's push carries of its consumables (R6): every compute-minute pack and
storage pack of the subscription not expired on the day, read from its orders (one order, one
purchase of ``quantity`` packs, usable for a year after it was placed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from portal.models import Order, OrderKind, Subscription, db

MINUTES_PER_PACK = 1_000
STORAGE_PACK_MIB = 10 * 1024


def a_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


@dataclass(frozen=True)
class ConsumablePacks:
    """The packs of a subscription in force on a day, as the push sends them."""

    compute_minutes: tuple[tuple[str, int, dt.date], ...]  # purchase_xid, minutes, expires_at
    storage_size: int  # MiB
    storage_ends_on: dt.date | None  # the earliest end among the storage packs in force


def consumable_packs(subscription: Subscription, today: dt.date) -> ConsumablePacks:
    orders = db.session.execute(
        sa.select(Order)
        .where(
            Order.subscription_id == subscription.id,
            Order.kind.in_((OrderKind.COMPUTE_MINUTES, OrderKind.STORAGE)),
        )
        .order_by(Order.id)
    ).scalars()
    minutes: list[tuple[str, int, dt.date]] = []
    storage_size, storage_ends_on = 0, None
    for order in orders:
        expires = a_year_after(order.created_at.date())
        if expires <= today:
            continue
        if order.kind == OrderKind.COMPUTE_MINUTES:
            xid = f"{subscription.name}-{order.id}"
            minutes.append((xid, order.quantity * MINUTES_PER_PACK, expires))
        else:
            storage_size += order.quantity * STORAGE_PACK_MIB
            storage_ends_on = min(storage_ends_on or expires, expires)
    return ConsumablePacks(tuple(minutes), storage_size, storage_ends_on)
