"""What GitLab.com shows of a top-level group (its plan, billable members, seat usage, GitLab Duo
purchase and seats) and what the portal knows of the group it provisions (R31, R32)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from instance.add_ons import assigned_count
from instance.gitlab_com.billable import billable_members_query, group_subscription
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import User, UserAddOnAssignment
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.provisioning import pending_push
from portal.models import db as portal_db
from provlab.scenario.users import usernames
from provlab.scenario.vocabulary import StepContext, expectation

GROUP_KEYS = {
    "path",
    "plan",
    "seats",
    "seats_in_use",
    "max_seats_used",
    "trial",
    "trial_ends_on",
    "billable",
    "duo",
    "assigned",
    "none",
}


@expectation(
    "group",
    "group: {path: acme, plan: ultimate, seats: 10, seats_in_use: 4, billable: [olga, bob], "
    "trial: true, trial_ends_on: 2026-04-01, duo: {tier: duo_pro, quantity: 5, active: true}, "
    "assigned: [bob]}",
)
def expect_group(context: StepContext, args: Any) -> None:
    """A GitLab.com top-level group: its subscription as provisioned (or `none: true`), its
    billable members (R31), its Ultimate trial (``trial``: running; ``trial_ends_on``: the
    trial's end, kept once it ended) and its GitLab Duo purchase and seats."""
    fields = context.mapping(args, {"path"}, GROUP_KEYS - {"path"})
    gitlab_com = context.gitlab_com
    with gitlab_com.reading():
        group = gitlab_com.group(fields["path"])
        subscription = group_subscription(group.id)
        if fields.get("none"):
            if subscription is not None:
                context.fail(f"{group.full_path} has a {subscription.plan_code} subscription")
            return
        plan_keys = ("plan", "seats", "seats_in_use", "max_seats_used", "trial", "trial_ends_on")
        if subscription is None and set(plan_keys) & set(fields):
            context.fail(f"{group.full_path} has no subscription")
        if subscription is not None:
            shown = {"plan": subscription.plan_code} | {
                key: getattr(subscription, key) for key in plan_keys[1:]
            }
            ends_on = subscription.trial_ends_on
            shown["trial_ends_on"] = ends_on.isoformat() if ends_on else None  # as written
            context.compare_shown(shown, {key: fields[key] for key in plan_keys if key in fields})
        if "billable" in fields:
            found = sorted(
                u.username for u in gitlab_com.session_scalars(billable_members_query(group.id))
            )
            wanted = sorted(usernames(fields["billable"]))
            if found != wanted:
                context.fail(f"billable members are {found}, expected {wanted}")
        purchase = group_duo_purchase(group.id)
        if "duo" in fields:
            duo = dict(fields["duo"])
            if purchase is None:
                context.fail(f"{group.full_path} has no GitLab Duo purchase")
            shown = {"tier": purchase.tier, "quantity": purchase.quantity, "trial": purchase.trial}
            shown["assigned"] = assigned_count(purchase)
            shown["active"] = purchase.is_active_on(gitlab_com.now().date())
            for key, value in duo.items():
                if shown.get(key) != value:
                    context.fail(f"duo {key} is {shown.get(key)!r}, expected {value!r}")
        if "assigned" in fields:
            found = []
            if purchase is not None:
                query = (
                    sa.select(User.username)
                    .join(UserAddOnAssignment, UserAddOnAssignment.user_id == User.id)
                    .where(UserAddOnAssignment.add_on_purchase_id == purchase.id)
                )
                found = sorted(gitlab_com.session_scalars(query))
            wanted = sorted(usernames(fields["assigned"]))
            if found != wanted:
                context.fail(f"seats are assigned to {found}, expected {wanted}")


@expectation(
    "namespace_link",
    "namespace_link: {subscription: A-S00000001, group: acme, seats_in_use: 4, "
    "push: failing, error: Namespace Not Found}",
)
def expect_namespace_link(context: StepContext, args: Any) -> None:
    """The portal's link of a subscription to a GitLab.com group: the usage GitLab.com reported
    back, whether its push is failing (`push: failing`, retried) or not (`ok`), and the last
    refusal GitLab.com answered."""
    fields = context.mapping(
        args, {"subscription"}, {"group", "seats_in_use", "max_seats_used", "push", "error"}
    )
    portal = context.portal
    with portal.reading():
        subscription = portal.subscription(fields["subscription"])
        link = portal_db.find(NamespaceLink, NamespaceLink.subscription_id == subscription.id)
        if link is None:
            context.fail(f"{subscription.name} is not linked to a group")
        shown = {
            "group": link.namespace_path,
            "seats_in_use": link.seats_in_use,
            "max_seats_used": link.max_seats_used,
            "push": "failing" if (job := pending_push(subscription.id)) and job.attempts else "ok",
        }
        context.compare_shown(shown, {key: fields[key] for key in shown if key in fields})
        if "error" in fields and str(fields["error"]) not in (link.last_error or ""):
            context.fail(f"the last refusal is {link.last_error!r}, expected {fields['error']!r}")
