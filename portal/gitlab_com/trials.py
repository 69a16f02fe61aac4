"""GitLab Duo Pro trials that GitLab.com group owners start: applied at once (R25).

Rules:
- R25: the group must hold an active paid Premium or Ultimate subscription, or an Ultimate
  trial, in the portal; on GitLab.com a Duo trial may run alongside an Ultimate trial (unlike
  self-managed, R11).
- A group that has, or had, a GitLab Duo add-on purchase or trial gets no new trial, counting
  one on the Ultimate trial a purchase replaced (``namespaces``).
- The trial is a GitLab Duo Pro add-on of 60 days for the subscription's seats, and the answer
  is the group's whole new state, which GitLab.com applies in the same request: no wait for a
  push, a lead pipeline or a daily sync. (GitLab.com checks that the requester owns the group
  before it asks; the portal trusts its signed word for that, as it trusts the provisioning.)
- Who asked is kept as a lead with the trial, as GitLab.com posts its lead to the portal before
  the trial (``record_lead``, for the Ultimate trial too): the trial's, done at once, so the
  daily lead processing never takes it up; support finds it with the subscription's leads.
"""

from __future__ import annotations

import datetime as dt

from portal.countries import COUNTRIES
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.provisioning import build_provision
from portal.leads import new_duo_trial
from portal.models import AddOnPurchase, Lead, LeadStatus, Subscription, SubscriptionKind, db
from portal.subscriptions import is_active, lock
from protocol.license import AddOnTier, Plan
from protocol.messages import ErrorCode
from protocol.provisioning import (
    NamespacePlanTrialRequest,
    NamespaceProvision,
    NamespaceTrialRequest,
)
from webcore.errors import Refusal

NO_SUBSCRIPTION = (
    "GitLab Duo Pro trials are available to groups with an active paid subscription or an "
    "Ultimate trial."
)
ALREADY = "This group already has a GitLab Duo add-on or trial."
UNKNOWN_COUNTRY = "Choose a country from the list."


class TrialRefused(Refusal):
    """The group may not have the trial: GitLab.com is answered a signed ErrorAnswer (403)."""

    code = ErrorCode.NOT_ELIGIBLE_FOR_TRIAL.value
    status = 403


def _eligible_plan(subscription: Subscription, today: dt.date) -> bool:
    if not is_active(subscription, today) or subscription.ended_on is not None:
        return False
    if subscription.kind == SubscriptionKind.PLAN_TRIAL:
        return subscription.plan == Plan.ULTIMATE.value
    return subscription.kind == SubscriptionKind.PAID and Plan(subscription.plan).allows_add_ons


def start_namespace_duo_trial(
    request: NamespaceTrialRequest, now: dt.datetime
) -> NamespaceProvision:
    """R25: a Duo Pro trial for the group, applied at once; its new state for GitLab.com."""
    today = now.date()
    link = db.find(NamespaceLink, NamespaceLink.namespace_id == request.namespace_id)
    if link is None or request.add_on is not AddOnTier.DUO_PRO:
        raise TrialRefused(NO_SUBSCRIPTION)
    subscription = link.subscription
    lock(subscription)
    if not _eligible_plan(subscription, today):
        raise TrialRefused(NO_SUBSCRIPTION)
    if subscription.add_on_purchases or (link.trial and link.trial.add_on_purchases):
        raise TrialRefused(ALREADY)
    trial = new_duo_trial(subscription, AddOnTier.DUO_PRO, now)
    record_lead(request, subscription, now, trial)
    db.session.expire(subscription, ["add_on_purchases"])
    return build_provision(subscription, link, today)


def record_lead(
    request: NamespaceTrialRequest | NamespacePlanTrialRequest,
    subscription: Subscription,
    now: dt.datetime,
    trial: AddOnPurchase | None = None,
) -> Lead:
    """GitLab.com's lead for the trial it asked for, which started (``trial``: the Duo trial's
    add-on purchase; none for an Ultimate trial): a request of an earlier GitLab.com, without
    GitLab's later lead fields, keeps them empty. Texts are kept as far as the lead's columns
    hold them (GitLab.com allows 255 characters)."""
    if request.country not in COUNTRIES:
        raise TrialRefused(UNKNOWN_COUNTRY)
    return db.inserted(
        Lead(
            subscription_name=subscription.name,
            email=request.email[:254],
            first_name=request.first_name[:100],
            last_name=request.last_name[:100],
            company=request.company_name[:200],
            country=request.country,
            add_on=trial.tier if trial else None,
            company_size=request.company_size,
            phone_number=request.phone_number,
            state=request.state,
            namespace_id=request.namespace_id,
            submitted_at=now,
            status=LeadStatus.TRIAL_CREATED,
            processed_at=now,
            subscription_id=subscription.id,
            add_on_purchase_id=trial.id if trial else None,
        )
    )
