"""GitLab.com Ultimate trials that the owner of a Free top-level group starts: applied at once.

Rules (GitLab's ``Namespace#eligible_for_trial?`` and the Customers Portal's ``generate_trial``):
- A group gets one Ultimate trial, of 30 days (``PLAN_TRIAL_DAYS``), only while on Free: a group
  a subscription is linked to is refused: it is on a paid plan, or it had its trial (the trial
  stays linked to the group once it ended, and a purchase that replaced it keeps it on the link).
  GitLab.com checks the same on its side first.
- The trial is a plan-trial subscription of Ultimate for the group, linked to it, with the
  requester as its customer and contact (an account made for them when the portal has none:
  on the real portal they sign in through GitLab.com). It never renews and no seat review bills
  it (reviews bill paid subscriptions only).
- The answer is the group's whole new state, which GitLab.com applies in the same request; the
  link's push (``portal.gitlab_com.provisioning``) sends the same state again, and, once the
  trial has ended, Free (``build_provision``).
- Who asked is kept as a lead with the trial (``trials.record_lead``).
- On GitLab.com the group may then take a GitLab Duo Pro trial on top (R25: an Ultimate trial
  qualifies), which self-managed forbids (R11, ``portal.leads``).
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa

from portal.errors import Refused
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.namespaces import link_namespace, locked_group_link
from portal.gitlab_com.provisioning import build_provision
from portal.gitlab_com.trials import TrialRefused, record_lead
from portal.models import Account, Role, Subscription, SubscriptionKind, db
from portal.subscriptions import check_contact, create_subscription
from protocol.license import Plan
from protocol.provisioning import NamespacePlanTrialRequest, NamespaceProvision
from webcore.auth import hash_password

# The seats of a trial: it is not billed by seat, and a Duo trial on it gets as many (R5).
TRIAL_SEATS = 100
HAD_TRIAL = "This group has already had a trial: a group gets one GitLab Ultimate trial."
PAID_PLAN = "This group is on a paid plan: GitLab Ultimate trials are for groups on the Free plan."
NOT_A_CUSTOMER = "This email address belongs to a GitLab staff account, not a customer."


def _refusal(link: NamespaceLink) -> str:
    """Why a group a subscription is linked to gets no trial: it had one, or it is paid for
    (a paid subscription that ended stays linked until another group takes it)."""
    if link.subscription.kind == SubscriptionKind.PLAN_TRIAL or link.trial_subscription_id:
        return HAD_TRIAL
    return PAID_PLAN


def _customer(request: NamespacePlanTrialRequest, now: dt.datetime) -> Account:
    """The requester's customer account, made for them the first time."""
    email = request.email.strip().lower()
    account = db.find(Account, sa.func.lower(Account.email) == email)
    if account is not None:
        if account.role != Role.CUSTOMER:
            raise TrialRefused(NOT_A_CUSTOMER)
        return account
    return db.inserted(
        Account(
            email=email,
            name=f"{request.first_name} {request.last_name}".strip()[:200],
            # No password of their own yet: they set one by resetting it.
            password_hash=hash_password(secrets.token_urlsafe(32)),
            role=Role.CUSTOMER.value,
            created_at=now,
        )
    )


def start_namespace_ultimate_trial(
    request: NamespacePlanTrialRequest, now: dt.datetime
) -> NamespaceProvision:
    """A 30-day Ultimate trial for a Free group, linked to it; its new state for GitLab.com."""
    today = now.date()
    link = locked_group_link(request.namespace_id)
    if link is not None:
        raise TrialRefused(_refusal(link))
    customer = _customer(request, now)
    name = f"{request.first_name} {request.last_name}".strip()
    try:
        check_contact(name, request.email, request.country)
        subscription: Subscription = create_subscription(
            customer,
            plan=Plan.ULTIMATE.value,
            seats=TRIAL_SEATS,
            starts_on=today,
            now=now,
            kind=SubscriptionKind.PLAN_TRIAL.value,
            auto_renew=False,
            contact_name=name,
            contact_email=request.email,
            contact_company=request.company_name,
            contact_country=request.country,
        )
        link = link_namespace(subscription, request.namespace_id, request.namespace_path, now)
    except Refused as refused:
        raise TrialRefused(refused.message) from None
    record_lead(request, subscription, now)
    return build_provision(subscription, link, today)
