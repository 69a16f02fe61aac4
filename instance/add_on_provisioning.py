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

from instance.add_ons import lock_purchase, remove_overage
from instance.models import AddOnPurchase, User, db
from protocol.license import AddOnProduct
from protocol.provisioning import NamespaceAddOnPurchase


def product_in_push(purchase: NamespaceAddOnPurchase) -> AddOnProduct:
    """A push's add-on purchase as the license would state it (GitLab's names on the push:
    started_on, expires_on, purchase_xid), so one rule follows either."""
    return AddOnProduct(
        purchase.add_on,
        purchase.quantity,
        purchase.started_on,
        purchase.expires_on,
        purchase.trial,
        purchase.purchase_xid,
    )


def purchase_terms(bought: AddOnProduct) -> dict[str, object]:
    """The purchase row's columns that follow what was bought (R1)."""
    return {
        "tier": bought.tier.value,
        "quantity": bought.quantity,
        "starts_on": bought.starts_on,
        "ends_on": bought.ends_on,
        "trial": bought.trial,
        "purchase_id": bought.purchase_id,
    }


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
    bought: AddOnProduct,
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
    for name, value in purchase_terms(bought).items():
        setattr(purchase, name, value)
    purchase.updated_at = now
    db.session.flush()
    return purchase, remove_overage(purchase)
