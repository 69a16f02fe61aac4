"""What `provlab doctor trial --namespace GROUP` reads: GitLab.com's record of the group (its
place in the hierarchy, its owners, the plan and GitLab Duo add-on pushed to it, the requester's
role) and the portal's (the subscription linked to the group, its add-on purchases and trials,
the push's state in the link and the job table).

Each side is read from its own app over its own database, at that app's time; nothing is
written. A party that was not given is None in the diagnosis (its checks are skipped, and said
to be).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.groups import find_group, membership
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.gitlab_com.trials import ineligibility
from instance.models import AccessLevel, User
from instance.namespace_models import Member, Namespace
from instance.users import find_by_username
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.provisioning import job_key
from portal.models import Job, Subscription
from portal.models import db as portal_db
from webcore.clock import app_clock

ROLE_NAMES = {
    AccessLevel.GUEST: "Guest",
    AccessLevel.REPORTER: "Reporter",
    AccessLevel.DEVELOPER: "Developer",
    AccessLevel.MAINTAINER: "Maintainer",
    AccessLevel.OWNER: "Owner",
}


@dataclass(frozen=True)
class DuoEvidence:
    tier: str
    trial: bool
    starts_on: dt.date
    ends_on: dt.date  # exclusive
    quantity: int

    def active_on(self, day: dt.date) -> bool:
        return self.starts_on <= day < self.ends_on


@dataclass(frozen=True)
class GroupEvidence:
    """GitLab.com's side."""

    now: dt.datetime
    path: str
    found: bool
    group_id: int | None = None
    root_id: int | None = None
    root_path: str | None = None
    owners: tuple[str, ...] = ()
    plan: str | None = None  # None: no subscription pushed (Free)
    plan_trial: bool = False
    plan_ends_on: dt.date | None = None
    plan_active: bool = False
    seats: int | None = None
    provisioned_at: dt.datetime | None = None
    duo: DuoEvidence | None = None
    requester: str | None = None
    requester_found: bool = False
    requester_role: str | None = None  # their role in the top-level group itself
    requester_admin: bool = False
    # GitLab.com's own answer to "may the requester start a trial for the group now?" (None:
    # yes, or no requester named).
    refusal: str | None = None

    @property
    def top_level_path(self) -> str:
        """Where trials and subscriptions belong: the top-level group (the path asked about when
        GitLab.com has no such group)."""
        return self.root_path or self.path


@dataclass(frozen=True)
class PushEvidence:
    attempts: int
    last_error: str | None
    next_run_at: dt.datetime | None
    last_run_at: dt.datetime | None


@dataclass(frozen=True)
class LinkEvidence:
    """The portal's side."""

    now: dt.datetime
    found: bool
    namespace_id: int | None = None
    namespace_path: str | None = None
    subscription_name: str | None = None
    plan: str | None = None
    kind: str | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    ended_on: dt.date | None = None
    linked_at: dt.datetime | None = None
    last_provisioned_at: dt.datetime | None = None
    refused: str | None = None  # GitLab.com's refusal of the last push
    push: PushEvidence | None = None
    duo: tuple[DuoEvidence, ...] = ()


def gitlab_com_evidence(app: Flask, path: str, requester: str | None) -> GroupEvidence:
    """GitLab.com's record of the group at ``path`` and of ``requester`` (a username)."""
    with app.app_context():
        now = app_clock(app).now()
        group = find_group(path)
        if group is None:
            return GroupEvidence(now, path, False, requester=requester)
        root = (
            group
            if group.is_root
            else app.extensions["sqlalchemy"].session.get(Namespace, group.root_id)
        )
        assert root is not None
        session = app.extensions["sqlalchemy"].session
        owners = tuple(
            session.execute(
                sa.select(User.username)
                .join(Member, Member.user_id == User.id)
                .where(Member.namespace_id == root.id, Member.access_level == AccessLevel.OWNER)
                .order_by(User.username)
            ).scalars()
        )
        subscription = group_subscription(root.id)
        purchase = group_duo_purchase(root.id)
        user = find_by_username(requester) if requester else None
        member = membership(root, user) if user is not None else None
        return GroupEvidence(
            now,
            path,
            True,
            group_id=group.id,
            root_id=root.id,
            root_path=root.full_path,
            owners=owners,
            plan=subscription.plan_code if subscription else None,
            plan_trial=bool(subscription and subscription.trial),
            plan_ends_on=subscription.end_date if subscription else None,
            plan_active=bool(subscription and subscription.is_active_on(now.date())),
            seats=subscription.seats if subscription else None,
            provisioned_at=subscription.provisioned_at if subscription else None,
            duo=DuoEvidence(
                purchase.tier,
                purchase.trial,
                purchase.starts_on,
                purchase.ends_on,
                purchase.quantity,
            )
            if purchase is not None and purchase.tier
            else None,
            requester=requester,
            requester_found=user is not None,
            requester_role=ROLE_NAMES.get(member.access_level) if member else None,
            requester_admin=bool(user and user.admin),
            refusal=ineligibility(group, user, now.date()) if user is not None else None,
        )


def portal_link_evidence(app: Flask, namespace_id: int | None, namespace_path: str) -> LinkEvidence:
    """The portal's link of a subscription to the group (by its GitLab.com id when known, else
    by the path it was linked with) and what it pushed."""
    with app.app_context():
        now = app_clock(app).now()
        where = (
            NamespaceLink.namespace_id == namespace_id
            if namespace_id is not None
            else NamespaceLink.namespace_path == namespace_path
        )
        link = portal_db.find(NamespaceLink, where)
        if link is None:
            return LinkEvidence(now, False, namespace_id, namespace_path)
        subscription: Subscription = link.subscription
        job = portal_db.find(Job, Job.key == job_key(subscription.id))
        return LinkEvidence(
            now,
            True,
            link.namespace_id,
            link.namespace_path,
            subscription.name,
            subscription.plan,
            subscription.kind,
            subscription.starts_on,
            subscription.ends_on,
            subscription.ended_on,
            link.linked_at,
            link.last_provisioned_at,
            link.last_error,
            PushEvidence(job.attempts, job.last_error, job.next_run_at, job.last_run_at)
            if job is not None
            else None,
            tuple(
                DuoEvidence(p.tier, p.trial, p.starts_on, p.ends_on, p.quantity)
                for p in sorted(
                    # A Duo trial on the Ultimate trial a purchase replaced is the group's too.
                    (
                        *subscription.add_on_purchases,
                        *(link.trial.add_on_purchases if link.trial else ()),
                    ),
                    key=lambda p: (p.starts_on, p.id),
                )
            ),
        )
