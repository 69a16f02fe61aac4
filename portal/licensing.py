"""Licenses, activation codes, and the portal's side of activation (the daily sync, which
answers the license built here, is ``portal.daily_sync``).

Rules held here:
- R8: a subscription's card generates a cloud activation code; the code is bound to the first
  instance that activates with it, and a second instance is refused.
- R9: plan trials and community-program subscriptions are legacy only: no activation code.
- R13: a license lists every add-on purchase and trial in force or to come
  (``add_on_products``), so purchases and trials reach the instance at its daily sync.
- Expired and not-cloud-compatible subscriptions are refused with the product's errors.
- Offline cloud and legacy license files are signed with the same keys as cloud licenses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Protocol

import sqlalchemy as sa

from portal.errors import Refused
from portal.keys import signing_key
from portal.models import (
    Activation,
    IssuedLicense,
    Subscription,
    SubscriptionKind,
    UsageReport,
    db,
    rows_of,
)
from portal.subscriptions import current_add_ons, current_agile_planning
from protocol.activation_code import generate_activation_code
from protocol.encoding import canonical_json
from protocol.license import (
    AddOnProduct,
    AddOnTier,
    License,
    Licensee,
    LicenseType,
    Plan,
    license_file,
    sign_license,
)
from protocol.messages import ActivationRequest, ErrorCode
from protocol.signing import VerifyingKey


class ProtocolRefusal(Exception):
    """An activation or sync refused for a reason the instance shows its administrator."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


INVALID_CODE = "The activation code is not valid: check that it was copied in full."
CODE_IN_USE = (
    "This activation code is already in use by another instance. Generate a new activation code "
    "in the Customers Portal, or contact support."
)
EXPIRED = "Your subscription is expired: renew it in the Customers Portal to activate."
NOT_CLOUD_COMPATIBLE = (
    "Your subscription is not cloud-compatible (it is issued legacy or offline licenses): "
    "upload its license file instead."
)


def is_cloud_compatible(subscription: LicensedTerms) -> bool:
    return (
        subscription.kind == SubscriptionKind.PAID
        and subscription.license_type == LicenseType.ONLINE_CLOUD.value
    )


# -- activation codes ---------------------------------------------------------------------------


def ensure_activation_code(subscription: Subscription) -> str:
    """R8: the subscription's cloud activation code, generated on first request.

    R9: plan trials and community programs are legacy only. A paid subscription on an offline
    or legacy license moves to cloud licensing (the fix for R10: Duo needs a cloud license).
    """
    if subscription.kind != SubscriptionKind.PAID:
        raise Refused(
            f"{SubscriptionKind.LABELS[subscription.kind]} subscriptions are issued legacy licenses "
            "only: there is no cloud activation code. Download the license file instead.",
            rule="R9",
        )
    if subscription.activation_code is None:
        while True:
            code = generate_activation_code()
            taken = db.session.execute(
                sa.select(Subscription.id).where(Subscription.activation_code == code)
            ).first()
            if taken is None:
                break
        subscription.activation_code = code
    subscription.license_type = LicenseType.ONLINE_CLOUD.value
    db.session.flush()
    return subscription.activation_code


# -- licenses -------------------------------------------------------------------------------------


def build_license(
    subscription: Subscription,
    now: dt.datetime,
    license_type: LicenseType,
    instance_id: str | None = None,
) -> License:
    today = now.date()
    # R6: Enterprise Agile Planning is listed beside the Duo tier, not instead of it.
    purchases = (
        *current_add_ons(subscription, today),
        *current_agile_planning(subscription, today),
    )
    return license_document(subscription, purchases, now, license_type, instance_id)


class LicensedTerms(Protocol):
    """What a license says of its subscription: a ``Subscription``, or the columns a sync
    reads (``portal.daily_sync``)."""

    @property
    def name(self) -> str: ...
    @property
    def contact_name(self) -> str: ...
    @property
    def contact_email(self) -> str: ...
    @property
    def contact_company(self) -> str: ...
    @property
    def plan(self) -> str: ...
    @property
    def seats(self) -> int: ...
    @property
    def term_starts_on(self) -> dt.date: ...
    @property
    def ends_on(self) -> dt.date: ...
    @property
    def kind(self) -> str: ...
    @property
    def license_type(self) -> str: ...


class LicensedPurchase(Protocol):
    """An add-on purchase or trial as a license lists it."""

    @property
    def tier(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def starts_on(self) -> dt.date: ...
    @property
    def ends_on(self) -> dt.date: ...
    @property
    def trial(self) -> bool: ...
    @property
    def purchase_id(self) -> str: ...


def license_document(
    subscription: LicensedTerms,
    purchases: Iterable[LicensedPurchase],
    now: dt.datetime,
    license_type: LicenseType,
    instance_id: str | None = None,
) -> License:
    """The license of ``subscription`` listing ``purchases`` (those in force or to come, Duo
    first, then Enterprise Agile Planning), issued ``now``."""
    products = tuple(
        AddOnProduct(
            tier=AddOnTier(p.tier),
            quantity=p.quantity,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            trial=p.trial,
            purchase_id=p.purchase_id,
        )
        for p in purchases
    )
    return License(
        license_id=uuid.uuid4().hex,
        subscription_name=subscription.name,
        licensee=Licensee(
            subscription.contact_name, subscription.contact_email, subscription.contact_company
        ),
        plan=Plan(subscription.plan),
        seats=subscription.seats,
        starts_on=subscription.term_starts_on,  # the term in force (R36 renews it)
        ends_on=subscription.ends_on,
        trial=subscription.kind == SubscriptionKind.PLAN_TRIAL,
        license_type=license_type,
        issued_at=now,
        add_on_products=products,
        instance_id=instance_id if license_type is LicenseType.ONLINE_CLOUD else None,
    )


def fingerprint_of(license: License) -> str:
    """The license's content, without its id and time: equal for licenses that say the same."""
    content = license.to_dict()
    del content["license_id"], content["issued_at"]
    return hashlib.sha256(canonical_json(content)).hexdigest()


def issue_license(
    subscription: Subscription,
    now: dt.datetime,
    license_type: LicenseType | None = None,
    instance_id: str | None = None,
    current: IssuedLicense | None = None,
) -> tuple[IssuedLicense, bool]:
    """The subscription's current signed license; ``(license, True)`` if it is a new one.

    A license with the same content as the last one issued for the same delivery is reused, so a
    daily sync that changes nothing does not mint (nor sign) a new license every day. ``current``
    is that last license when the caller already holds it (an activation keeps the license it
    was last answered); otherwise it is looked up.
    """
    kind = license_type or LicenseType(subscription.license_type)
    document = build_license(subscription, now, kind, instance_id)
    fingerprint = fingerprint_of(document)
    last = current if current is not None else _last_issued(subscription, kind, document)
    if last is not None and last.fingerprint == fingerprint:
        return last, False
    key = signing_key()
    token = (
        sign_license(document, key)
        if kind is LicenseType.ONLINE_CLOUD
        else license_file(document, key)
    )
    issued = IssuedLicense(
        license_id=document.license_id,
        subscription_id=subscription.id,
        license_type=kind.value,
        instance_id=document.instance_id,
        fingerprint=fingerprint,
        token=token,
        issued_at=now,
    )
    return db.inserted(issued), True


def _last_issued(
    subscription: Subscription, kind: LicenseType, document: License
) -> IssuedLicense | None:
    return db.session.execute(
        sa.select(IssuedLicense)
        .where(
            IssuedLicense.subscription_id == subscription.id,
            IssuedLicense.license_type == kind.value,
            IssuedLicense.instance_id.is_(None)
            if document.instance_id is None
            else IssuedLicense.instance_id == document.instance_id,
        )
        .order_by(IssuedLicense.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def license_file_for(subscription: Subscription, now: dt.datetime) -> IssuedLicense:
    """The license file of an offline-cloud or legacy subscription (R9)."""
    if subscription.license_type == LicenseType.ONLINE_CLOUD.value:
        raise Refused(
            "This subscription uses an online cloud license: activate your instance with the "
            "activation code instead of a license file."
        )
    issued, _ = issue_license(subscription, now)
    return issued


def license_file_name(subscription: Subscription) -> str:
    return f"{subscription.name}.gitlab-license"


def licenses_of(subscription: Subscription) -> list[IssuedLicense]:
    return rows_of(IssuedLicense, subscription, IssuedLicense.id.desc())


def notify_license_change(subscription: Subscription, now: dt.datetime, why: str) -> None:
    """After a change that alters the license: mail a new license file where one is issued.

    Online cloud licenses reach the instance through the daily sync (R13), so nothing is mailed
    for them; offline and legacy subscriptions get the new file attached.
    """
    from portal.mail import queue_mail

    if subscription.license_type == LicenseType.ONLINE_CLOUD.value:
        return
    issued, new = issue_license(subscription, now)
    if new:
        queue_mail(
            "license",
            subscription,
            f"Your new GitLab license for {subscription.name}",
            f"{why}\n\nYour new license file is attached. Upload it in your instance under "
            "Admin > Subscription.",
            attachment_name=license_file_name(subscription),
            attachment=issued.token,
        )


# -- the protocol ---------------------------------------------------------------------------------


def activation_of(subscription: Subscription) -> Activation | None:
    return db.find(Activation, Activation.subscription_id == subscription.id)


def _holds(activation: Activation, key: VerifyingKey) -> bool:
    # By the key itself, never by its kid: a kid is whatever the sender wrote in its JWK.
    return VerifyingKey.from_jwk(activation.public_key).raw() == key.raw()


# Given the key registered for an instance, whether the request proves (with a KeyChange signed
# by that key) that the instance hands itself over to the request's key. See sync_api.
HandOver = Callable[[VerifyingKey], bool]


def activate_instance(
    request: ActivationRequest,
    key: VerifyingKey,
    now: dt.datetime,
    handed_over: HandOver = lambda registered: False,
) -> tuple[Subscription, IssuedLicense]:
    """R8: bind the activation code to the first instance that uses it; answer its license.

    The code and the instance id are no secret (both travel in requests, the id is in the
    diagnostics bundle), so neither lets a sender replace the key registered for an instance:
    that takes a key change signed by the registered key (`handed_over`), or a new code (which
    unbinds). Everything is checked before anything is written, so a refusal changes nothing.
    """
    subscription = db.find(
        Subscription, Subscription.activation_code == request.activation_code, lock=True
    )
    if subscription is None:
        raise ProtocolRefusal(ErrorCode.INVALID_ACTIVATION_CODE, INVALID_CODE)
    if now.date() >= subscription.ends_on:
        raise ProtocolRefusal(ErrorCode.SUBSCRIPTION_EXPIRED, EXPIRED)
    if not is_cloud_compatible(subscription):
        raise ProtocolRefusal(ErrorCode.SUBSCRIPTION_NOT_CLOUD_COMPATIBLE, NOT_CLOUD_COMPATIBLE)
    bound = activation_of(subscription)
    if bound is not None and bound.instance_id != request.instance_id:
        raise ProtocolRefusal(ErrorCode.ACTIVATION_CODE_IN_USE, CODE_IN_USE)
    elsewhere = (
        db.session.execute(
            sa.select(Activation).where(
                sa.or_(Activation.instance_id == request.instance_id, Activation.key_id == key.kid),
                Activation.subscription_id != subscription.id,
            )
        )
        .scalars()
        .all()
    )
    for other in elsewhere:
        if other.instance_id != request.instance_id:
            # Another instance's key id: never let one instance unbind another.
            raise ProtocolRefusal(ErrorCode.ACTIVATION_CODE_IN_USE, CODE_IN_USE)
    for registered in [bound, *elsewhere]:
        if registered is not None and not _holds(registered, key):
            if not handed_over(VerifyingKey.from_jwk(registered.public_key)):
                raise ProtocolRefusal(ErrorCode.ACTIVATION_CODE_IN_USE, CODE_IN_USE)
    # Every check passed: from here on, only writes.
    for other in elsewhere:
        db.session.delete(other)  # the same instance moves to a new subscription
    db.session.flush()
    if bound is None:
        bound = Activation(
            subscription_id=subscription.id, instance_id=request.instance_id, activated_at=now
        )
        db.session.add(bound)
    bound.key_id = key.kid
    bound.public_key = key.to_jwk()
    bound.gitlab_version = request.gitlab_version
    bound.hostname = request.hostname
    db.session.flush()
    issued, _ = issue_license(subscription, now, LicenseType.ONLINE_CLOUD, request.instance_id)
    bound.license = issued
    return subscription, issued


def usage_reports_of(subscription: Subscription, limit: int = 30) -> list[UsageReport]:
    return list(
        db.session.execute(
            sa.select(UsageReport)
            .where(UsageReport.subscription_id == subscription.id)
            .order_by(UsageReport.id.desc())
            .limit(limit)
        ).scalars()
    )
