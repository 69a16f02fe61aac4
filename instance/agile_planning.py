"""Enterprise Agile Planning on the instance and on GitLab.com groups (R6).

Rules:
- R6: a user-based add-on that is not GitLab Duo. Its purchase is a row of its own
  (``add_on`` = ``agile_planning``), so the partial unique indexes that hold "one Duo purchase
  per instance / per top-level group" leave it beside the Duo one, and GitLab Duo's precedence
  (Enterprise over Pro) never touches it.
- R1: provisioned from the license's ``add_on_products`` (self-managed) or from the portal's push
  (GitLab.com): the product in force today, else the next to start; one missing from a fresh
  license or push is expired (ends yesterday), never deleted, its assignments kept 28 days.
- R2, R26, R27, R28, R29: its seats are assigned with GitLab Duo's operations
  (``instance.add_ons``): billable users (R30) or billable members of the group (R31) only,
  never more than purchased, all-or-nothing bulk changes, overage and blocked users removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from instance.add_on_provisioning import expire_missing, follow, product_in_push
from instance.models import AddOnPurchase, db
from protocol.license import AddOnProduct, AddOnTier
from protocol.license import License as LicenseDocument
from protocol.provisioning import NamespaceAddOnPurchase

AGILE_PLANNING = "agile_planning"  # ``AddOnPurchase.add_on``: at most 20 characters
TIER = AddOnTier.ENTERPRISE_AGILE_PLANNING


_AGILE_PLANNING = sa.select(AddOnPurchase).where(AddOnPurchase.add_on == AGILE_PLANNING)
_INSTANCE_PURCHASE = _AGILE_PLANNING.where(AddOnPurchase.namespace_id.is_(None))


def agile_planning_purchase(namespace_id: int | None = None) -> AddOnPurchase | None:
    """The instance's purchase (``namespace_id`` None) or a top-level group's on GitLab.com."""
    if namespace_id is None:  # every sync reads it: built once
        return db.session.execute(_INSTANCE_PURCHASE).scalar_one_or_none()
    return db.session.execute(
        _AGILE_PLANNING.where(AddOnPurchase.namespace_id == namespace_id)
    ).scalar_one_or_none()


def _chosen(bought: Iterable[AddOnProduct], today: dt.date) -> AddOnProduct | None:
    """The purchase in force today, else the next one to start."""
    candidates = list(bought)
    active = [b for b in candidates if b.starts_on <= today < b.ends_on]
    if active:
        return active[0]
    upcoming = sorted((b for b in candidates if b.starts_on > today), key=lambda b: b.starts_on)
    return upcoming[0] if upcoming else None


def provision_agile_planning(
    bought: Iterable[AddOnProduct], now: dt.datetime, namespace_id: int | None = None
) -> AddOnPurchase | None:
    """Bring the Enterprise Agile Planning purchase in line with a license or a push (R1, R6,
    R28); returns the purchase row, if there is one."""
    return follow_agile_planning(
        agile_planning_purchase(namespace_id), bought, now, namespace_id=namespace_id
    )


def follow_agile_planning(
    purchase: AddOnPurchase | None,
    bought: Iterable[AddOnProduct],
    now: dt.datetime,
    *,
    namespace_id: int | None = None,
    locked: bool = False,
) -> AddOnPurchase | None:
    """``provision_agile_planning`` for a purchase the caller has read in this transaction
    (``locked``: with its row locked, as a sync reads the instance's purchases)."""
    chosen = _chosen(bought, now.date())
    if chosen is None:
        expire_missing(purchase, now)
        return purchase
    purchase, _ = follow(
        purchase, chosen, now, add_on=AGILE_PLANNING, namespace_id=namespace_id, locked=locked
    )
    return purchase


def bought_in_license(document: LicenseDocument) -> list[AddOnProduct]:
    """The license's Enterprise Agile Planning products (self-managed)."""
    return [p for p in document.add_on_products if p.tier is TIER]


def bought_in_push(purchases: Iterable[NamespaceAddOnPurchase]) -> list[AddOnProduct]:
    """The push's ``enterprise_agile_planning`` purchases (GitLab.com)."""
    return [product_in_push(p) for p in purchases if p.add_on is TIER]
