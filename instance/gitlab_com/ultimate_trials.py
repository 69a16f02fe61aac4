"""GitLab Ultimate trials on GitLab.com, started by the owner of a Free top-level group and
applied at once.

Rules (GitLab's ``Namespace#eligible_for_trial?``, ``GitlabSubscriptions::Trials::CreateService``):
- Only an Owner of a top-level group may start one, for that group.
- The group must be on Free and never have had a trial: a group on a paid plan is refused, and
  so is a group that had a trial (GitLab keeps the trial's end date once it ended), so a second
  Ultimate trial for the same group is refused too.
- GitLab.com asks the portal over the signed protocol and applies its answer, the group's new
  state (Ultimate, trial, 30 days), in the same request. Billable members are then counted on
  Ultimate's rules (R31: Guests excluded).
- On GitLab.com a GitLab Duo Pro trial may be started on top of it (R25, ``trials``), unlike
  self-managed (R11). When the trial ends the portal pushes Free; the Duo trial runs on.
- The call to the portal holds no database transaction (``webcore.outbound``).
"""

from __future__ import annotations

import datetime as dt

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.groups import is_owner
from instance.gitlab_com.trials import Trial
from instance.models import User
from instance.namespace_models import GitlabSubscription, Namespace
from protocol.license import Plan
from protocol.provisioning import NamespacePlanTrialRequest

NOT_OWNER = "You must be an owner of the top-level group to start a GitLab Ultimate trial."
PAID_PLAN = "This group is on a paid plan: GitLab Ultimate trials are for groups on the Free plan."
HAD_TRIAL = "This group has already had a trial: a group gets one GitLab Ultimate trial."
NO_GROUP = (
    "You have no group that can start a GitLab Ultimate trial: you must be an owner of a "
    "top-level group on the Free plan that never had a trial."
)


def ineligibility(group: Namespace, user: User, today: dt.date) -> str | None:
    """Why ``user`` cannot start an Ultimate trial for ``group`` now, or None."""
    if not group.is_root or not is_owner(group, user):
        return NOT_OWNER
    subscription = group_subscription(group.id)
    if subscription is None:
        return None
    if subscription.trial_ends_on is not None:
        return HAD_TRIAL
    if subscription.is_active_on(today) and Plan(subscription.plan_code) is not Plan.FREE:
        return PAID_PLAN
    return None


def trial_ended(subscription: GitlabSubscription | None, today: dt.date) -> bool:
    """The group had an Ultimate trial, which has ended (it is on Free again)."""
    return (
        subscription is not None
        and subscription.trial_ends_on is not None
        and subscription.trial_ends_on <= today
    )


ULTIMATE_TRIAL = Trial(
    ineligibility,
    lambda client, group, requester: client.request_ultimate_trial(
        NamespacePlanTrialRequest(
            namespace_id=group.id, namespace_path=group.full_path, **requester
        )
    ),
    group_subscription,
    expected=lambda provision: provision.main_plan.trial,  # the group's plan is now a trial
)
