"""GitLab Duo Pro trials on GitLab.com, started by a group owner and applied at once (R25).

Rules (seeds/000 "Start GitLab Duo Pro trial / On GitLab.com"):
- Only an owner of a top-level group may start one, for that group.
- The group must have an active paid subscription or an Ultimate trial (a Free group without
  one cannot), and no GitLab Duo add-on or trial yet (GitLab offers the trial only to groups
  without one).
- GitLab.com asks the portal over the signed protocol and applies the portal's answer, the
  group's new state, in the same request: the requester can assign seats at once.
- The call to the portal holds no database transaction (``webcore.outbound``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypedDict, TypeVar

import sqlalchemy as sa
from flask import Flask

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.groups import is_owner
from instance.gitlab_com.provisioning import group_duo_purchase, provision_namespace
from instance.identity import instance_key
from instance.licenses import LicenseError, pinned_portal_keys
from instance.models import User, db
from instance.namespace_models import Member, Namespace
from instance.portal_client import PortalClient, PortalError
from protocol.license import AddOnTier, Plan
from protocol.provisioning import CompanySize, NamespaceProvision, NamespaceTrialRequest
from webcore.clock import app_clock
from webcore.errors import Refusal
from webcore.outbound import outside_transaction

NOT_OWNER = "You must be an owner of the top-level group to start a GitLab Duo Pro trial."
NOT_ELIGIBLE = (
    "GitLab Duo Pro trials are available to groups with an active paid subscription or an "
    "Ultimate trial."
)
ALREADY = "This group already has a GitLab Duo add-on or trial."


class TrialError(Refusal):
    code = "not_eligible_for_trial"
    status = 403


@dataclass(frozen=True)
class TrialForm:
    """The lead step's fields, in the form's order, checked (``trial_form.lead_fields``):
    ``state`` is blank unless the country has states."""

    first_name: str
    last_name: str
    company_name: str
    company_size: str
    country: str
    state: str
    phone_number: str

    def requester(self, user: User) -> Requester:
        """Who asks for the trial: ``user``, named as on this form."""
        return Requester(
            email=user.email,
            first_name=self.first_name,
            last_name=self.last_name,
            company_name=self.company_name,
            country=self.country,
            company_size=CompanySize(self.company_size),
            phone_number=self.phone_number,
            state=self.state or None,
        )


class Requester(TypedDict):
    """Who asks for a trial, as both trial requests state them (``protocol.provisioning``)."""

    email: str
    first_name: str
    last_name: str
    company_name: str
    country: str
    company_size: CompanySize
    phone_number: str
    state: str | None


Ineligibility = Callable[[Namespace, User, dt.date], str | None]


def ineligibility(group: Namespace, user: User, today: dt.date) -> str | None:
    """Why ``user`` cannot start a Duo Pro trial for ``group`` now, or None (R25)."""
    if not group.is_root or not is_owner(group, user):
        return NOT_OWNER
    subscription = group_subscription(group.id)
    if (
        subscription is None
        or not subscription.is_active_on(today)
        or not Plan(subscription.plan_code).allows_add_ons
    ):
        return NOT_ELIGIBLE
    if group_duo_purchase(group.id) is not None:
        return ALREADY
    return None


def top_level_groups_of(user: User) -> list[Namespace]:
    """The top-level groups ``user`` is a member of, by name: where a trial form's group choice
    comes from (each trial keeps those its own rules allow)."""
    return list(
        db.session.execute(
            sa.select(Namespace)
            .join(Member, Member.namespace_id == Namespace.id)
            .where(Member.user_id == user.id, Namespace.parent_id.is_(None))
            .order_by(Namespace.name)
        ).scalars()
    )


def groups_open_to(user: User, today: dt.date, ineligibility: Ineligibility) -> list[Namespace]:
    """The top-level groups of ``user`` (a trial form's group choice) that ``ineligibility``
    finds no reason against."""
    groups = top_level_groups_of(user)
    return [group for group in groups if ineligibility(group, user, today) is None]


Started = TypeVar("Started")


@dataclass(frozen=True)
class Trial(Generic[Started]):
    """One kind of trial a group owner starts on GitLab.com: which groups may have it, how the
    portal is asked for it, and what it started."""

    ineligibility: Ineligibility
    ask: Callable[[PortalClient, Namespace, Requester], NamespaceProvision]
    started: Callable[[int], Started | None]  # what the trial started, read for the group's id
    rule: str | None = None
    # Whether the portal's answer is this trial's.
    expected: Callable[[NamespaceProvision], bool] = lambda provision: True

    def eligible_groups(self, user: User, today: dt.date) -> list[Namespace]:
        """The top-level groups ``user`` may start the trial for (the form's group choice)."""
        return groups_open_to(user, today, self.ineligibility)

    def start(
        self, app: Flask, group: Namespace, user: User, form: TrialForm, now: dt.datetime
    ) -> Started:
        """Ask the portal for the group's trial (nothing held while it answers: the request's
        work so far is committed first) and apply the provisioning it answers with at once."""
        reason = self.ineligibility(group, user, now.date())
        if reason is not None:
            raise TrialError(reason, rule=self.rule)
        try:
            client = PortalClient.for_app(app, pinned_portal_keys(), app_clock(app), instance_key())
        except LicenseError as exc:
            raise TrialError(str(exc), status=503) from None
        failure: PortalError | None = None
        with outside_transaction(db.session):
            try:
                provision = self.ask(client, group, form.requester(user))
            except PortalError as exc:
                failure = exc
        if failure is not None:
            raise TrialError(failure.admin_message, rule=self.rule)
        if provision.namespace_id != group.id or not self.expected(provision):
            raise TrialError("The Customers Portal answered for another group.", status=502)
        provision_namespace(provision, app_clock(app).now())
        started = self.started(group.id)
        assert started is not None
        return started


# R25: applied at once, so the requester can assign seats at once.
DUO_PRO_TRIAL = Trial(
    ineligibility,
    lambda client, group, requester: client.request_duo_trial(
        NamespaceTrialRequest(namespace_id=group.id, add_on=AddOnTier.DUO_PRO, **requester)
    ),
    group_duo_purchase,
    rule="R25",
)
