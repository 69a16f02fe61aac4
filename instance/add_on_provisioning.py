"""An add-on purchase following what a fresh license or a push says was bought (R1, R28).

Rules:
- R1: what was bought decides the row: its tier, seats, term, trial flag and purchase id.
- An add-on missing from a fresh license or push is expired (its end date set to yesterday),
  never deleted: its seat assignments stay 28 days (``add_ons.clean_up_seats``) and come back if
  it is renewed in that window. One that already ended on its own keeps its end date.
- R28: once the row follows what was bought, assignments above the purchased quantity are
  removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from instance.add_ons import lock_purchase, remove_overage
from instance.models import AddOnPurchase, User, db
from protocol.license import AddOnProduct, AddOnTier
from protocol.provisioning import NamespaceAddOnPurchase


@dataclass(frozen=True)
class Bought:
    """One add-on purchase as a license (add-on product) or a push (add-on purchase) states it."""

    tier: AddOnTier
    quantity: int
    starts_on: dt.date
    ends_on: dt.date
    trial: bool
    purchase_id: str

    @classmethod
    def in_license(cls, product: AddOnProduct) -> Bought:
        return cls(
            product.tier,
            product.quantity,
            product.starts_on,
            product.ends_on,
            product.trial,
            product.purchase_id,
        )

    @classmethod
    def in_push(cls, purchase: NamespaceAddOnPurchase) -> Bought:
        """GitLab's names on the push: started_on, expires_on, purchase_xid."""
        return cls(
            purchase.add_on,
            purchase.quantity,
            purchase.started_on,
            purchase.expires_on,
            purchase.trial,
            purchase.purchase_xid,
        )


def expire_missing(purchase: AddOnPurchase | None, now: dt.datetime) -> bool:
    """Expire `purchase`, which the fresh license or push no longer states; True if it ended now."""
    today = now.date()
    if purchase is None or purchase.ends_on <= today:
        return False
    purchase.ends_on = today - dt.timedelta(days=1)
    purchase.starts_on = min(purchase.starts_on, purchase.ends_on)
    purchase.updated_at = now
    db.session.flush()
    return True


def follow(
    purchase: AddOnPurchase | None,
    bought: Bought,
    now: dt.datetime,
    *,
    add_on: str,
    namespace_id: int | None,
    locked: bool = False,
) -> tuple[AddOnPurchase, list[User]]:
    """The purchase row (created if there is none) with `bought`'s terms, and the users whose
    seats its quantity no longer covers (R28). ``locked``: the caller read the row locked in
    this transaction, so it is not locked and re-read again."""
    if purchase is None:
        purchase = AddOnPurchase(add_on=add_on, namespace_id=namespace_id, created_at=now)
        db.session.add(purchase)
    elif not locked:
        purchase = lock_purchase(purchase.id) or purchase
    purchase.tier = bought.tier.value
    purchase.quantity = bought.quantity
    purchase.starts_on = bought.starts_on
    purchase.ends_on = bought.ends_on
    purchase.trial = bought.trial
    purchase.purchase_id = bought.purchase_id
    purchase.updated_at = now
    db.session.flush()
    return purchase, remove_overage(purchase)
