"""Subscriptions for GitLab.com top-level groups: buying one, linking one.

Rules:
- A GitLab.com subscription belongs to one top-level group, and a group has at most one
  subscription: linking either a second time is refused.
- A plan is bought for a group on Premium or Ultimate (Free is not sold), charged the list price
  for the seats over the term (a year), and provisioned to the group at once (a push, see
  ``portal.gitlab_com.provisioning``). GitLab Duo Pro self-serve and *Add seats* on it are the
  self-managed purchases (R3, R4, R5) on the linked subscription, pushed the same way.
- A group whose only subscription is its Ultimate trial, running or ended, may buy a plan
  (gitlab-org/gitlab#12187: the trial expires at once and the paid subscription applies): the
  trial ends today and never renews, the purchase is linked in its place and pushed, and the link
  keeps the trial (``NamespaceLink.trial``): GitLab.com keeps its ``trial_ends_on``, so the group
  gets no second trial, and a GitLab Duo trial started on it runs on to its own end
  (``provisioning``). A group with a paid subscription linked is refused as before.
- *Change linked namespace* moves a subscription's link to another top-level group that has no
  subscription; the new group is provisioned at once, and the group it leaves goes back to Free
  (its add-on purchases expire on GitLab.com), keeping its Ultimate trial if the subscription
  had replaced one (linked to it again: Free with the trial's dates, a Duo trial on it running
  on), since a trial is the group's, not the subscription's.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from portal.errors import Refused
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.provisioning import schedule_release
from portal.models import Account, OrderKind, PaymentMethod, Subscription, SubscriptionKind, db
from portal.orders import SELF_SERVE, OrderTerms, place_order, seats_line
from portal.pricing import yearly_price
from portal.subscriptions import create_subscription, is_active, lock
from protocol.license import Plan

_PATH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


def _group_path(namespace_id: int, namespace_path: str) -> str:
    path = namespace_path.strip()
    if namespace_id < 1 or not path or "/" in path or any(c not in _PATH for c in path):
        raise Refused("Choose a top-level group: its id and path, such as 42 and acme.")
    return path


def _taken(path: str) -> Refused:
    return Refused(
        f"The group {path} already has a subscription.", code="namespace_has_subscription"
    )


def _check_group(namespace_id: int, namespace_path: str) -> str:
    path = _group_path(namespace_id, namespace_path)
    taken = db.session.execute(
        sa.select(NamespaceLink.id).where(NamespaceLink.namespace_id == namespace_id)
    ).first()
    if taken:
        raise _taken(path)
    return path


def locked_group_link(namespace_id: int) -> NamespaceLink | None:
    """The group's link, if it has one, under its row lock: a purchase or trial for the group
    waits for the one in progress."""
    return db.find(NamespaceLink, NamespaceLink.namespace_id == namespace_id, lock=True)


def _replaceable_trial(namespace_id: int, path: str) -> NamespaceLink | None:
    """The group's link when its only subscription is its Ultimate trial (a purchase replaces
    it), None when the group has no link; a paid subscription linked is refused."""
    link = locked_group_link(namespace_id)
    if link is None:
        return None
    if link.subscription.kind != SubscriptionKind.PLAN_TRIAL or link.trial_subscription_id:
        raise _taken(path)
    return link


def _replace_trial(link: NamespaceLink, subscription: Subscription, today: dt.date) -> None:
    """The purchase takes the trial's place on the group: the trial ends today (or kept the day
    it ended) and never renews; the link keeps it as the group's trial."""
    trial = link.subscription
    lock(trial)
    if trial.ends_on > today:
        trial.ends_on = today
    trial.ended_on = trial.ended_on or trial.ends_on
    trial.auto_renew = False
    link.subscription_id, link.trial_subscription_id = subscription.id, trial.id
    db.session.flush()
    # The relationships still name the trial until they are read again.
    db.session.expire(link, ["subscription", "trial"])


def linked_group(subscription: Subscription, *, for_update: bool = False) -> NamespaceLink | None:
    """The GitLab.com group a subscription is linked to (a SaaS subscription), if any;
    ``for_update``: under the link's row lock."""
    return db.find(NamespaceLink, NamespaceLink.subscription_id == subscription.id, lock=for_update)


def check_self_managed(subscription: Subscription) -> None:
    """A subscription linked to a group is GitLab.com's: no activation code, no license file."""
    link = linked_group(subscription)
    if link is not None:
        raise Refused(
            f"{subscription.name} is linked to the GitLab.com group {link.namespace_path}: "
            "it has no license or activation code.",
            code="subscription_on_gitlab_com",
        )


def link_namespace(
    subscription: Subscription, namespace_id: int, namespace_path: str, now: dt.datetime
) -> NamespaceLink:
    """Link ``subscription`` to a top-level group; it is provisioned there at once."""
    path = _check_group(namespace_id, namespace_path)
    linked = db.session.execute(
        sa.select(NamespaceLink.id).where(NamespaceLink.subscription_id == subscription.id)
    ).first()
    if linked:
        raise Refused(
            f"{subscription.name} is already linked to a group.", code="subscription_linked"
        )
    if not is_active(subscription, now.date()):
        raise Refused(f"{subscription.name} is not active.", code="subscription_inactive")
    return db.inserted(
        NamespaceLink(
            subscription_id=subscription.id,
            namespace_id=namespace_id,
            namespace_path=path,
            linked_at=now,
        )
    )


def change_linked_namespace(
    subscription: Subscription, namespace_id: int, namespace_path: str, now: dt.datetime
) -> NamespaceLink:
    """*Change linked namespace*: link ``subscription`` to another top-level group (or to its
    first one); the group it moves to is provisioned at once."""
    link = linked_group(subscription, for_update=True)
    if link is None:
        if subscription.activation_code is not None:
            # Its code may already activate a self-managed instance: one offering each.
            raise Refused(
                f"{subscription.name} is a self-managed subscription with an activation code.",
                code="subscription_self_managed",
            )
        return link_namespace(subscription, namespace_id, namespace_path, now)
    if link.namespace_id == namespace_id:
        raise Refused(
            f"{subscription.name} is already linked to {link.namespace_path}.",
            code="namespace_unchanged",
        )
    path = _check_group(namespace_id, namespace_path)
    if not is_active(subscription, now.date()):
        raise Refused(f"{subscription.name} is not active.", code="subscription_inactive")
    left_id, left_path, trial_id = (
        link.namespace_id,
        link.namespace_path,
        link.trial_subscription_id,
    )
    link.namespace_id, link.namespace_path, link.linked_at = namespace_id, path, now
    # The trial was the group's, not the subscription's: the group it moves to never had it.
    link.trial_subscription_id = None
    # What GitLab.com said of the group it left says nothing of this one.
    link.last_provisioned_at = link.seats_in_use = link.max_seats_used = link.last_error = None
    db.session.flush()  # the moved link pushes the new group (see provisioning)
    if trial_id is None:
        schedule_release(left_id, now)
    else:
        # The group it leaves keeps its trial, linked as it was before the purchase replaced it:
        # pushed as Free with the trial's dates (no second trial), its Duo trial running on, and
        # it may buy a plan again.
        db.inserted(
            NamespaceLink(
                subscription_id=trial_id,
                namespace_id=left_id,
                namespace_path=left_path,
                linked_at=now,
            )
        )
    db.session.expire(link, ["trial"])
    return link


def buy_namespace_subscription(
    customer: Account,
    *,
    namespace_id: int,
    namespace_path: str,
    plan: str,
    seats: int,
    payment_method: PaymentMethod | None,
    now: dt.datetime,
) -> Subscription:
    """Buy Premium or Ultimate for a top-level group, a year from today, and link it; a group
    on its Ultimate trial, running or ended, has the trial replaced (R4: the paid plan is what
    add-ons are bought on; R7: the order is invoiced; R31: GitLab.com counts the group's seats
    on the new plan's rules)."""
    if plan not in (Plan.PREMIUM.value, Plan.ULTIMATE.value):
        raise Refused("Choose Premium or Ultimate for the group.", code="invalid_plan")
    if payment_method is None or payment_method.account_id != customer.id:
        raise Refused("Choose one of your payment methods.", code="invalid_payment_method")
    trial_link = _replaceable_trial(namespace_id, _group_path(namespace_id, namespace_path))
    today = now.date()
    subscription = create_subscription(customer, plan=plan, seats=seats, starts_on=today, now=now)
    label = Plan(plan).label
    line = seats_line(
        f"{label} for {namespace_path}", seats, yearly_price(plan), today, subscription.ends_on
    )
    place_order(
        OrderTerms(subscription=subscription, placed_by=customer, now=now),
        SELF_SERVE,
        OrderKind.GITLAB_COM_SUBSCRIPTION,
        seats,
        (line,),
        what=f"{label} for {namespace_path}: {seats} seats",
        pay_with=payment_method,
    )
    if trial_link is None:
        link_namespace(subscription, namespace_id, namespace_path, now)
    else:
        _replace_trial(trial_link, subscription, today)
    return subscription
