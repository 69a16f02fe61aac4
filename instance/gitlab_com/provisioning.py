"""GitLab.com applies what the Customers Portal provisions for a top-level group.

Rules:
- A provision is the group's whole state (``protocol.provisioning``): applying it twice leaves
  the same rows, so the portal may resend a push that failed.
- Only a top-level group holds a subscription: a subgroup is refused ("Must be root
  namespace!"), an unknown id too ("Namespace Not Found"), as GitLab's provisioning API does.
- R1/R6 on GitLab.com: the group's GitLab Duo add-on purchase follows the pushed add-ons as the
  self-managed one follows the license: one Duo purchase per group, Duo Enterprise taking
  precedence over Duo Pro with the seat assignments kept, an add-on no longer pushed expired
  (ends yesterday) rather than deleted; R28: seats above a lowered quantity are removed in the
  self-managed order. Enterprise Agile Planning follows the push in a purchase of its own
  (``instance.agile_planning``), untouched by the Duo rules.
- R6: compute-minute packs and purchased storage are kept as pushed (``quotas``).
- R31/R32: the answer reports the group's seats in use (its billable members now) and the most
  it has used this term (``max_seats_used``), which a new term starts again from.
"""

from __future__ import annotations

import datetime as dt

from instance.add_on_provisioning import expire_missing, follow, product_in_push
from instance.add_ons import DUO
from instance.agile_planning import bought_in_push, provision_agile_planning
from instance.gitlab_com.billable import billable_member_count, group_subscription
from instance.gitlab_com.quotas import provision_consumables
from instance.models import AddOnPurchase, db
from instance.namespace_models import GitlabSubscription, Namespace
from protocol.license import AddOnTier
from protocol.messages import ErrorCode
from protocol.provisioning import NamespaceAddOnPurchase, NamespaceProvision, ProvisionAnswer
from webcore.errors import Refusal

NAMESPACE_NOT_FOUND = "Namespace Not Found"
NOT_ROOT_NAMESPACE = "Must be root namespace!"


class ProvisionRefused(Refusal):
    """A verified provision GitLab.com cannot apply; ``code`` is a protocol ErrorCode."""

    def __init__(self, code: ErrorCode, message: str, status: int) -> None:
        super().__init__(message, code=code.value, status=status)


def group_duo_purchase(root_id: int) -> AddOnPurchase | None:
    return db.find(
        AddOnPurchase, AddOnPurchase.namespace_id == root_id, AddOnPurchase.add_on == DUO
    )


def _chosen(
    purchases: tuple[NamespaceAddOnPurchase, ...], today: dt.date
) -> NamespaceAddOnPurchase | None:
    """The Duo purchase the group follows: in force today (Enterprise first), else the next."""
    active = [p for p in purchases if p.add_on.is_duo and p.started_on <= today < p.expires_on]
    if active:
        return sorted(active, key=lambda p: p.add_on is not AddOnTier.DUO_ENTERPRISE)[0]
    upcoming = sorted(
        (p for p in purchases if p.add_on.is_duo and p.started_on > today),
        key=lambda p: p.started_on,
    )
    return upcoming[0] if upcoming else None


def _provision_duo(root_id: int, provision: NamespaceProvision, now: dt.datetime) -> None:
    chosen = _chosen(provision.add_on_purchases, now.date())
    purchase = group_duo_purchase(root_id)
    if chosen is None:
        expire_missing(purchase, now)
        return
    follow(purchase, product_in_push(chosen), now, add_on=DUO, namespace_id=root_id)


def record_seat_usage(subscription: GitlabSubscription) -> None:
    """Seats in use now, and the most used this term (R31)."""
    in_use = billable_member_count(subscription.namespace_id)
    subscription.seats_in_use = in_use
    subscription.max_seats_used = max(subscription.max_seats_used, in_use)


def provision_namespace(provision: NamespaceProvision, now: dt.datetime) -> ProvisionAnswer:
    """Apply the portal's push to the top-level group it names (R1, R6, R28, R31)."""
    group = db.session.get(Namespace, provision.namespace_id)
    if group is None:
        raise ProvisionRefused(ErrorCode.NAMESPACE_NOT_FOUND, NAMESPACE_NOT_FOUND, 404)
    if not group.is_root:
        raise ProvisionRefused(ErrorCode.NOT_ROOT_NAMESPACE, NOT_ROOT_NAMESPACE, 400)
    plan = provision.main_plan
    subscription = group_subscription(group.id)
    if subscription is None:
        subscription = GitlabSubscription(namespace_id=group.id, max_seats_used=0)
        db.session.add(subscription)
    elif subscription.start_date != plan.start_date:
        subscription.max_seats_used = 0  # a new term counts its own maximum
    subscription.plan_code = plan.plan_code.value
    subscription.start_date = plan.start_date
    subscription.end_date = plan.end_date
    subscription.seats = plan.seats
    subscription.trial = plan.trial
    subscription.trial_starts_on = plan.trial_starts_on
    subscription.trial_ends_on = plan.trial_ends_on
    subscription.auto_renew = plan.auto_renew
    subscription.provisioned_at = now
    db.session.flush()
    _provision_duo(group.id, provision, now)
    # R6: Enterprise Agile Planning is a purchase of its own beside the group's Duo one.
    provision_agile_planning(bought_in_push(provision.add_on_purchases), now, group.id)
    provision_consumables(group.id, provision)  # R6: compute-minute packs, purchased storage
    record_seat_usage(subscription)
    db.session.flush()
    return ProvisionAnswer(group.id, subscription.seats_in_use, subscription.max_seats_used)
