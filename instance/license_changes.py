"""What an administrator does to the instance's licenses through the REST API: add a license
file, remove a license. Each holds the sync status lock, as activation and sync do, so that a
change and a sync installing a license happen one after the other (one current license).

Rules:
- R9: a license file added over the API goes through exactly the checks of the Admin ->
  Subscription upload (``licenses.upload_license_file``): offline cloud or legacy only, signed by
  a pinned portal key, in force today.
- Removing the current license falls back on the previous one, as GitLab's
  ``Licenses::DestroyService`` leaves ``License.current`` to; the add-ons then follow the license
  in force as after a sync (R1, R6): an online cloud license's add-on products, and with any other
  license, or none, the add-on purchases are expired (never deleted), so GitLab Duo stops (R10).
"""

from __future__ import annotations

import datetime as dt
import logging

from instance.add_on_provisioning import expire_missing
from instance.add_ons import DUO, instance_purchases_locked
from instance.agile_planning import AGILE_PLANNING, bought_in_license, follow_agile_planning
from instance.duo_provisioning import provision_add_ons
from instance.licenses import (
    delete_license,
    license_by_id,
    pinned_portal_keys,
    upload_license_file,
)
from instance.models import License
from instance.sync import sync_status
from protocol.errors import ProtocolError
from protocol.license import License as LicenseDocument
from protocol.license import LicenseType, verify_license

log = logging.getLogger(__name__)


def add_license_file(text: str, now: dt.datetime) -> License:
    """Install an offline cloud or legacy license file (R9) as the current license."""
    sync_status(lock=True)
    return upload_license_file(text, pinned_portal_keys(), now)


def remove_license(license_id: int, now: dt.datetime) -> bool:
    """Delete license ``license_id`` (False: there is none); when it was the current license,
    fall back on the previous one and bring the add-on purchases in line with it."""
    sync_status(lock=True)  # before the read: a removal running at once has finished
    row = license_by_id(license_id)
    if row is None:
        return False
    was_current = row.current
    successor = delete_license(row, now.date())
    if was_current:
        _follow_license(successor, now)
    return True


def _cloud_document(row: License | None) -> LicenseDocument | None:
    """The online cloud license ``row`` as signed, or None: only an online cloud license brings
    add-ons (R10); one no pinned key verifies any more brings none."""
    if row is None or row.license_type != LicenseType.ONLINE_CLOUD.value:
        return None
    try:
        return verify_license(row.token, pinned_portal_keys())
    except ProtocolError:
        log.warning("the license fallen back on is no longer verified: its add-ons expire")
        return None


def _follow_license(current: License | None, now: dt.datetime) -> None:
    document = _cloud_document(current)
    purchases = instance_purchases_locked()
    if document is None:
        # A license without add-on products: each purchase expires, as one missing after a sync.
        for add_on in (DUO, AGILE_PLANNING):
            expire_missing(purchases.get(add_on), now)
        return
    provisioned = provision_add_ons(document, now, purchases.get(DUO))
    follow_agile_planning(
        purchases.get(AGILE_PLANNING), bought_in_license(document), now, locked=True
    )
    if provisioned.removed_usernames:
        log.info("overage removal took the seats of %d users", len(provisioned.removed_usernames))
