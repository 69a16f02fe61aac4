"""The Duo purchase brought in line with a fresh license, on every sync and activation.

Rules:
- R1/R6: the Duo add-on is provisioned from the license: one purchase row per instance; Duo
  Enterprise takes precedence over Duo Pro, and moving Pro -> Enterprise keeps the assignments.
  An add-on missing from a fresh license is expired (ends yesterday), never deleted; its seat
  assignments are kept 28 days (``add_ons.clean_up_seats``) and count again if it comes back.
- R28: a quantity below the assigned seats removes assignments until they fit
  (``add_ons.remove_overage``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from instance.add_on_provisioning import expire_missing, purchase_terms
from instance.add_ons import DUO, remove_overage
from instance.models import AddOnPurchase, db
from protocol.license import AddOnProduct, AddOnTier
from protocol.license import License as LicenseDocument


def _chosen_product(document: LicenseDocument, today: dt.date) -> AddOnProduct | None:
    """The Duo product the instance follows: the one in force today (Enterprise first), else
    the next one to start."""
    active = sorted(
        (product for product in document.active_add_on_products(today) if product.tier.is_duo),
        key=lambda product: product.tier is not AddOnTier.DUO_ENTERPRISE,
    )
    if active:
        return active[0]
    upcoming = sorted(
        (
            product
            for product in document.add_on_products
            if product.tier.is_duo and product.starts_on > today
        ),
        key=lambda product: product.starts_on,
    )
    return upcoming[0] if upcoming else None


@dataclass(frozen=True)
class Provisioned:
    purchase: AddOnPurchase | None
    expired: bool
    removed_usernames: tuple[str, ...]


def provision_add_ons(
    document: LicenseDocument, now: dt.datetime, purchase: AddOnPurchase | None
) -> Provisioned:
    """Bring the Duo purchase in line with a fresh license (R1, R6, R28). ``purchase`` is the
    instance's Duo purchase, locked and re-read by the caller in this transaction
    (``add_ons.instance_purchases_locked``): the counts after it must be current."""
    today = now.date()
    product = _chosen_product(document, today)
    if product is None:
        return Provisioned(purchase, expire_missing(purchase, now), ())
    terms = purchase_terms(product)
    if purchase is None:
        purchase = AddOnPurchase(add_on=DUO, created_at=now)
        db.session.add(purchase)
    # A daily sync mostly brings the same terms: the row (and updated_at) changes only if they do.
    if any(getattr(purchase, name, None) != value for name, value in terms.items()):
        for name, value in terms.items():
            setattr(purchase, name, value)
        purchase.updated_at = now
        db.session.flush()
    removed = remove_overage(purchase)
    return Provisioned(purchase, False, tuple(user.username for user in removed))
