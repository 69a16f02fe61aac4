"""Pushing a GitLab.com subscription to its top-level group, and retrying until it lands.

Rules:
- Whenever a linked subscription or one of its add-on purchases changes (a purchase, *Add
  seats*, a sales order, a renewal, a trial, the link itself), the group's whole state is pushed
  to GitLab.com once that change has committed: a ``provision_namespace`` job, one per
  subscription, due at once. No daily wait: on GitLab.com the portal provisions. The same job
  then runs daily, bringing the group's seat usage back in GitLab.com's answer.
- A push that does not get through (GitLab.com unreachable, an unverifiable answer) fails the
  job, which the job table retries with backoff; support sees the attempts and the last error.
  A push GitLab.com refuses (unknown group, subgroup) is recorded on the link and shown to
  support instead: sending it again would be refused again.
- The call holds no database transaction (``webcore.outbound``); the answer's seat usage (seats
  in use, max seats used) is recorded on the link, and as the day's billable user count that
  seat reviews bill by (``portal.billing.usage.record_gitlab_com_usage``, R31, R32, R34).
- R6: the push carries the group's compute-minute and storage packs not expired today
  (``consumable_packs``); the daily push drops a pack on the day it expires.
- R4/R5 hold whoever built the state (``protocol.provisioning``); an add-on purchase that ended
  is left out, so GitLab.com expires it.
- A GitLab.com Ultimate trial (``ultimate_trials``) that ended pushes Free, with the GitLab Duo
  trial started on it until that trial's own end (``_after_trial``). A purchase that replaced
  the trial (``namespaces``) pushes its paid plan with the trial's dates (GitLab keeps
  ``trial_ends_on``) and that Duo trial until its end (``_trial_add_ons``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.billing.usage import record_gitlab_com_usage
from portal.gitlab_com.client import Refused, push_provision
from portal.gitlab_com.consumable_packs import consumable_packs
from portal.gitlab_com.models import NamespaceLink
from portal.models import AddOnPurchase, Job, Subscription, SubscriptionKind, db
from portal.subscriptions import add_years, current_add_ons, current_agile_planning
from protocol.license import AddOnTier, Plan
from protocol.provisioning import (
    ComputeMinutesPack,
    MainPlan,
    NamespaceAddOnPurchase,
    NamespaceProvision,
)
from webcore.clock import app_clock
from webcore.outbound import outside_transaction

JOB = "provision_namespace"
_TOUCHED = "gitlab_com.touched_subscriptions"


def job_key(subscription_id: int) -> str:
    return f"{JOB}:{subscription_id}"


def link_of(subscription: Subscription) -> NamespaceLink | None:
    return db.find(NamespaceLink, NamespaceLink.subscription_id == subscription.id)


def _trial_add_ons(
    subscription: Subscription, link: NamespaceLink, today: dt.date
) -> list[AddOnPurchase]:
    """A GitLab Duo trial started on the Ultimate trial a purchase replaced runs on to its own
    end, until the paid subscription has a Duo add-on of its own (R6: one at a time)."""
    if link.trial is None or current_add_ons(subscription, today):
        return []
    return [p for p in current_add_ons(link.trial, today) if p.trial]


def _add_on_purchases(
    subscription: Subscription, link: NamespaceLink, today: dt.date
) -> tuple[NamespaceAddOnPurchase, ...]:
    chosen: dict[AddOnTier, AddOnPurchase] = {}
    # Earliest first; Enterprise Agile Planning is its own add-on name beside Duo's (R6).
    for purchase in (
        *_trial_add_ons(subscription, link, today),
        *current_add_ons(subscription, today),
        *current_agile_planning(subscription, today),
    ):
        tier = AddOnTier(purchase.tier)
        held = chosen.get(tier)
        # Per add-on the purchase in force today, else the next to start.
        if held is None or (held.starts_on > today and purchase.starts_on <= today):
            chosen[tier] = purchase
    return tuple(
        NamespaceAddOnPurchase(
            tier,
            min(purchase.quantity, subscription.seats),
            purchase.starts_on,
            purchase.ends_on,
            subscription.name,
            purchase.trial,
        )
        for tier, purchase in sorted(chosen.items())
    )


def build_provision(
    subscription: Subscription, link: NamespaceLink, today: dt.date
) -> NamespaceProvision:
    """The group's whole state as the portal knows it today."""
    trial = subscription.kind == SubscriptionKind.PLAN_TRIAL
    # The group's trial: this subscription, or the one a purchase replaced (its dates stay).
    had = subscription if trial else link.trial
    if trial and subscription.ends_on <= today:
        plan = _after_trial(subscription)
    else:
        plan = MainPlan(
            Plan(subscription.plan),
            subscription.renewed_on or subscription.starts_on,
            subscription.ends_on,
            subscription.seats,
            trial=trial,
            trial_starts_on=had.starts_on if had else None,
            trial_ends_on=had.ends_on if had else None,
            auto_renew=subscription.auto_renew,
        )
    add_ons = _add_on_purchases(subscription, link, today)
    if not plan.plan_code.allows_add_ons:  # R4; a Duo trial runs on to its end (see below)
        add_ons = tuple(p for p in add_ons if p.trial and plan.had_trial)
    packs = consumable_packs(subscription, today)  # R6: compute minutes and storage
    return NamespaceProvision(
        link.namespace_id,
        plan,
        add_ons,
        tuple(ComputeMinutesPack(n, expires, xid) for xid, n, expires in packs.compute_minutes),
        packs.storage_size,
        packs.storage_ends_on,
    )


def _after_trial(subscription: Subscription) -> MainPlan:
    """A group whose Ultimate trial ended is on Free again, keeping the trial's dates (GitLab
    keeps ``trial_ends_on``: the group had its trial). A GitLab Duo trial started on it runs on
    to its own end, as GitLab.com does: de-provisioning the Ultimate trial leaves the Duo trial
    and its seats alone (gitlab-org/gitlab#461881). The Free term starts when the trial ended,
    so every push sends the same state."""
    return MainPlan(
        Plan.FREE,
        subscription.ends_on,
        add_years(subscription.ends_on, 1),
        subscription.seats,
        trial_starts_on=subscription.starts_on,
        trial_ends_on=subscription.ends_on,
    )


def schedule_push(subscription_id: int, now: dt.datetime) -> None:
    current_app.extensions["jobs"].schedule(
        JOB, now, key=job_key(subscription_id), args={"subscription_id": subscription_id}
    )


def push_namespace(app: Flask, subscription_id: int, now: dt.datetime) -> dt.datetime | None:
    """The job: push the subscription's state to its group; raise to be retried. Once it
    landed, it runs again at the next midnight: the group's seat usage comes back daily, and a
    group that drifted from what the portal sold is put right."""
    subscription = db.session.get(Subscription, subscription_id)
    link = link_of(subscription) if subscription is not None else None
    if subscription is None or link is None:
        return None
    provision = build_provision(subscription, link, now.date())
    link_id = link.id
    refused: Refused | None = None
    with outside_transaction(db.session):
        try:
            answer = push_provision(app, provision, app_clock(app))
        except Refused as refusal:
            refused = refusal
    link = db.session.get(NamespaceLink, link_id, with_for_update=True)
    if link is None:
        return None
    if refused is not None:
        link.last_error = str(refused)
        db.session.flush()
        return None  # support acts; a change to the subscription pushes again
    link.last_error = None
    link.last_provisioned_at = now
    link.seats_in_use, link.max_seats_used = answer.seats_in_use, answer.max_seats_used
    # R32: the group's usage feeds the daily counts seat reviews bill by, as Seat Link's do.
    record_gitlab_com_usage(
        link.subscription, link.namespace_id, answer.seats_in_use, answer.max_seats_used, now
    )
    db.session.flush()
    return (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


RELEASE_JOB = "release_namespace"


def schedule_release(namespace_id: int, now: dt.datetime) -> None:
    """The group a subscription left goes back to Free (pushed once the move has committed)."""
    current_app.extensions["jobs"].schedule(
        RELEASE_JOB,
        now,
        key=f"{RELEASE_JOB}:{namespace_id}",
        args={"namespace_id": namespace_id},
    )


def push_release(app: Flask, namespace_id: int, now: dt.datetime) -> None:
    """The job: push Free, with no add-on purchases (GitLab.com expires them), to a group no
    subscription is linked to; raise to be retried. A group linked again meanwhile is left to
    its own push."""
    linked = db.session.execute(
        sa.select(NamespaceLink.id).where(NamespaceLink.namespace_id == namespace_id)
    ).first()
    if linked is not None:
        return
    today = now.date()
    free = MainPlan(Plan.FREE, today, today + dt.timedelta(days=365), 0)
    with outside_transaction(db.session):
        try:
            push_provision(app, NamespaceProvision(namespace_id, free, ()), app_clock(app))
        except Refused:
            pass  # the group is gone, or no longer top-level: nothing left to release


def pending_push(subscription_id: int) -> Any | None:
    """The push job of a subscription while it is scheduled (support sees its failed tries and
    last error: ``attempts``, ``last_error``, ``next_run_at``)."""
    return db.find(Job, Job.key == job_key(subscription_id), Job.next_run_at.is_not(None))


def failed_pushes() -> list[Any]:
    """Pushes that failed at least once, or ran out of tries, for the support console."""
    return list(
        db.session.execute(
            sa.select(Job)
            .where(Job.name == JOB, Job.last_error.is_not(None), Job.attempts > 0)
            .order_by(Job.id)
        ).scalars()
    )


# -- what triggers a push ----------------------------------------------------------------------


def _note_changes(session: Session, flush_context: Any) -> None:
    # After the flush (ids assigned) the session still lists what the flush wrote. A link
    # counts when made or moved to another group, not when a push records its answer on it
    # (that would push again). The history still holds what this flush wrote.
    touched: set[int] = session.info.setdefault(_TOUCHED, set())
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, Subscription):
            touched.add(row.id)
        elif isinstance(row, AddOnPurchase):
            touched.add(row.subscription_id)
        elif isinstance(row, NamespaceLink) and sa.inspect(row).attrs.namespace_id.history.deleted:
            touched.add(row.subscription_id)
    touched.update(row.subscription_id for row in session.new if isinstance(row, NamespaceLink))


def _schedule_pushes(session: Session) -> None:
    touched: set[int] = session.info.pop(_TOUCHED, set())
    if not touched:
        return
    linked = session.execute(
        sa.select(NamespaceLink.subscription_id).where(
            NamespaceLink.subscription_id.in_(sorted(touched))
        )
    ).scalars()
    now = app_clock().now()
    for subscription_id in linked:
        schedule_push(subscription_id, now)


def _forget_changes(session: Session, previous_transaction: Any = None) -> None:
    session.info.pop(_TOUCHED, None)


def init_app(app: Flask) -> None:
    """Push linked subscriptions when they change (see the module docstring)."""
    if app.extensions.get("portal.gitlab_com"):
        return
    app.extensions["portal.gitlab_com"] = True
    session = db.session
    if not event.contains(session, "after_flush", _note_changes):
        event.listen(session, "after_flush", _note_changes)
        event.listen(session, "before_commit", _schedule_pushes)
        event.listen(session, "after_rollback", _forget_changes)
