"""The portal's side of the daily sync (Seat Link), read and written as columns (R13, R32).

A sync runs for every instance every day, so it reads and writes with Core statements on the
session's connection, never ORM entities: one statement reads everything it needs (the
activation registered with the request's key, its subscription, the license last answered to
the instance and the add-on purchases in force or to come); then it stores the usage report,
signs and stores a license only when its content changed (``licensing.fingerprint_of``), and
records the activation's sync state. Loading the same as entities with their relationships
cost about as much as the rest of the request (issue 15).

Operations flush, never commit: the route's request commits.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa

from portal.keys import signing_key
from portal.licensing import (
    EXPIRED,
    NOT_CLOUD_COMPATIBLE,
    ProtocolRefusal,
    fingerprint_of,
    is_cloud_compatible,
    license_document,
)
from portal.models import (
    AGILE_PLANNING,
    Activation,
    AddOnPurchase,
    IssuedLicense,
    Subscription,
    UsageReport,
    db,
    purchase_id,
)
from protocol.license import LicenseType, sign_license
from protocol.messages import ErrorCode, SyncRequest
from webcore.db import insert_ids


@dataclass(frozen=True)
class SyncedSubscription:
    """The subscription's columns a sync checks and a license says."""

    id: int
    name: str
    plan: str
    seats: int
    starts_on: dt.date
    renewed_on: dt.date | None
    ends_on: dt.date
    kind: str
    license_type: str
    contact_name: str
    contact_email: str
    contact_company: str

    @property
    def term_starts_on(self) -> dt.date:
        return self.renewed_on or self.starts_on  # as ``Subscription.term_starts_on``


@dataclass(frozen=True)
class SyncedPurchase:
    """An add-on purchase or trial in force or to come, as a license lists it."""

    id: int
    tier: str
    quantity: int
    starts_on: dt.date
    ends_on: dt.date
    trial: bool

    @property
    def purchase_id(self) -> str:
        return purchase_id(self.id)


@dataclass(frozen=True)
class AnsweredLicense:
    """The license last answered to the instance: its content's fingerprint and its token."""

    id: int
    fingerprint: str
    token: str


@dataclass(frozen=True)
class SyncTarget:
    """The activation registered with a key, and what a sync of it reads."""

    activation_id: int
    instance_id: str
    public_key: dict[str, Any]
    subscription: SyncedSubscription
    license: AnsweredLicense | None
    purchases: tuple[SyncedPurchase, ...]  # Duo first, then Enterprise Agile Planning (R6)


# The subscription's and purchases' columns in the order of their dataclass's fields (ORM
# attributes: ``renewed_on`` is the column ``term_starts_on``).
_SUBSCRIPTION = [getattr(Subscription, field.name) for field in fields(SyncedSubscription)]
_PURCHASE = [getattr(AddOnPurchase, field.name) for field in fields(SyncedPurchase)]
_ACTIVATION = [Activation.id, Activation.instance_id, Activation.public_key]
_LICENSE = [IssuedLicense.id, IssuedLicense.fingerprint, IssuedLicense.token]


def _target_statement() -> sa.Select[Any]:
    # One row per purchase in force or to come (or one, its purchase columns NULL): every
    # table is joined on a unique key, so the statement's cost doesn't grow with the history.
    in_force = sa.and_(
        AddOnPurchase.subscription_id == Subscription.id,
        AddOnPurchase.ends_on > sa.bindparam("today"),
        AddOnPurchase.ends_on > AddOnPurchase.starts_on,
    )
    return (
        sa.select(*_ACTIVATION, *_SUBSCRIPTION, *_LICENSE, *_PURCHASE)
        .select_from(Activation)
        .join(Subscription, Subscription.id == Activation.subscription_id)
        .outerjoin(IssuedLicense, IssuedLicense.id == Activation.license_id)
        .outerjoin(AddOnPurchase, in_force)
        .where(Activation.key_id == sa.bindparam("kid"))
    )


_TARGET = _target_statement()  # built once: building costs more than running it
_S = len(_ACTIVATION)
_L = _S + len(_SUBSCRIPTION)
_P = _L + len(_LICENSE)


def sync_target(kid: str, today: dt.date) -> SyncTarget | None:
    """The activation registered with key ``kid`` and what a sync of it reads, in one query;
    None if no activation has that key."""
    rows = db.session.connection().execute(_TARGET, {"kid": kid, "today": today}).all()
    if not rows:
        return None
    first = rows[0]
    purchases = sorted(
        (SyncedPurchase(*row[_P:]) for row in rows if row[_P] is not None),
        # As ``current_add_ons`` and ``current_agile_planning`` list them.
        key=lambda p: (p.tier == AGILE_PLANNING, p.starts_on, p.id),
    )
    activation_id, instance_id, public_key = first[:_S]
    return SyncTarget(
        activation_id,
        instance_id,
        public_key,
        subscription=SyncedSubscription(*first[_S:_L]),
        license=AnsweredLicense(*first[_L:_P]) if first[_L] is not None else None,
        purchases=tuple(purchases),
    )


def record_sync(target: SyncTarget, request: SyncRequest, now: dt.datetime) -> str:
    """R13, R32: store the instance's usage and answer its current license (its token).

    Every refusal comes before the first write (the sync endpoint relies on it: it takes no
    savepoint). The license is signed again only when its content changed since the one last
    answered to this instance.
    """
    if request.instance_id != target.instance_id:
        raise ProtocolRefusal(
            ErrorCode.UNKNOWN_INSTANCE, "This instance is not the one the subscription is bound to."
        )
    subscription = target.subscription
    if now.date() >= subscription.ends_on:
        raise ProtocolRefusal(ErrorCode.SUBSCRIPTION_EXPIRED, EXPIRED)
    if not is_cloud_compatible(subscription):
        raise ProtocolRefusal(ErrorCode.SUBSCRIPTION_NOT_CLOUD_COMPATIBLE, NOT_CLOUD_COMPATIBLE)
    connection = db.session.connection()
    connection.execute(
        _STORE_USAGE,
        {
            "subscription_id": subscription.id,
            "instance_id": request.instance_id,
            "received_at": now,
            "gitlab_version": request.gitlab_version,
            "billable_users": request.billable_users,
            "max_historical_users": request.max_historical_users,
            "add_on_usage": [item.to_dict() for item in request.add_on_usage],
            "daily_usage": [item.to_dict() for item in request.daily_usage],
        },
    )
    synced: dict[str, Any] = {
        "last_sync_at": now,
        "gitlab_version": request.gitlab_version,
        "hostname": request.hostname,
    }
    fingerprint = _content_fingerprint(subscription, target.purchases, target.instance_id)
    if target.license is not None and target.license.fingerprint == fingerprint:
        token = target.license.token
    else:
        document = license_document(
            subscription, target.purchases, now, LicenseType.ONLINE_CLOUD, target.instance_id
        )
        token = sign_license(document, signing_key())
        (synced["license_id"],) = insert_ids(
            connection,
            IssuedLicense.__table__,
            [
                {
                    "license_id": document.license_id,
                    "subscription_id": subscription.id,
                    "license_type": LicenseType.ONLINE_CLOUD.value,
                    "instance_id": document.instance_id,
                    "fingerprint": fingerprint,
                    "token": token,
                    "issued_at": now,
                }
            ],
        )
    connection.execute(_STORE_SYNC_STATE, {"activation_id": target.activation_id, **synced})
    return token


@functools.lru_cache(maxsize=1024)
def _content_fingerprint(
    subscription: SyncedSubscription, purchases: tuple[SyncedPurchase, ...], instance_id: str
) -> str:
    """The fingerprint of the license these columns make (``licensing.fingerprint_of``): its
    content is theirs alone (its id and issue time are left out), so the same columns give the
    same fingerprint, and an instance syncing daily with nothing changed has its answer's
    fingerprint without building and encoding the license again."""
    document = license_document(
        subscription, purchases, _LEFT_OUT, LicenseType.ONLINE_CLOUD, instance_id
    )
    return fingerprint_of(document)


_LEFT_OUT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # an issue time the fingerprint leaves out


_STORE_USAGE = sa.insert(UsageReport.__table__)
# The columns it sets are the parameters it is given besides the activation's id.
_STORE_SYNC_STATE = sa.update(Activation.__table__).where(
    Activation.__table__.c.id == sa.bindparam("activation_id")
)
