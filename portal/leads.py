"""Duo trial requests (leads): the public form, then sales' processing through the marketing system.

Rules held here:
- R20: the form takes the subscription name and an email that must match the subscription
  contact's email.
- R21: the form does not create the trial; a daily job (``LEAD_PROCESSING_TIME``) handles requests
  that have waited ``LEAD_PROCESSING_DELAY_MINUTES`` in the marketing system.
- R22: a requester in an embargoed country sees the same success, and the trial is never
  created: a silent failure, recorded for support.
- R11, R12, R19: only an active, paid Premium or Ultimate subscription (no plan trial in
  progress, not a community program) without GitLab Duo or a Duo trial gets a trial.
- R23: a subscription gets one free GitLab Duo trial. Submitting the form again after it ended
  starts no second one: the lead is dropped, and sales extends the ended trial as a $0 order.
- R7: a trial that starts mails a confirmation to the subscription contact.
The requester is never told why a request was dropped; support sees the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import current_app

from portal.countries import COUNTRIES
from portal.errors import Refused
from portal.licensing import notify_license_change
from portal.mail import queue_mail
from portal.models import AddOnPurchase, Lead, LeadStatus, Subscription, SubscriptionKind, db
from portal.subscriptions import (
    current_add_ons,
    ended_duo_trial,
    find_subscription,
    lock,
    plan_trial_in_progress,
    support_search,
)
from protocol.license import AddOnTier, Plan
from webcore.db import read_columns

DUO_TRIAL_DAYS = 60
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Reason:
    """Why sales dropped a lead (support sees these; the requester never does)."""

    EMBARGOED_COUNTRY = "embargoed_country"
    UNKNOWN_SUBSCRIPTION = "unknown_subscription"
    EMAIL_NOT_CONTACT = "email_not_contact"
    FREE_PLAN = "free_plan"
    PLAN_TRIAL_IN_PROGRESS = "plan_trial_in_progress"
    COMMUNITY_PROGRAM = "community_program"
    NOT_PAID = "not_paid"
    EXPIRED = "subscription_expired"
    ALREADY_HAS_DUO = "already_has_duo"
    ALREADY_HAD_DUO_TRIAL = "already_had_duo_trial"
    DUO_TRIAL_ENDED = "duo_trial_ended"


def submit_trial_request(fields: Mapping[str, Any], now: dt.datetime) -> Lead:
    """Record a trial request as a lead (R21: processed later). Only malformed input is refused:
    whether the request is eligible is never revealed to the requester (R22)."""

    def text(name: str, label: str, limit: int) -> str:
        value = str(fields.get(name) or "").strip()
        if not value:
            raise Refused(f"{label} is required.")
        if len(value) > limit:
            raise Refused(f"{label} is too long.")
        return value

    subscription_name = text("subscription_name", "Subscription name", 40).upper()
    email = text("email", "Email", 254)
    if not _EMAIL.fullmatch(email):
        raise Refused("Email is not a valid email address.")
    first_name = text("first_name", "First name", 100)
    last_name = text("last_name", "Last name", 100)
    company = text("company", "Company", 200)
    country = text("country", "Country", 2).upper()
    if country not in COUNTRIES:
        raise Refused("Choose a country from the list.")
    add_on = text("add_on", "Add-on", 30)
    if add_on not in {tier.value for tier in AddOnTier if tier.is_duo}:  # R6: Duo trials only
        raise Refused("Choose GitLab Duo Pro or GitLab Duo Enterprise.")
    return db.inserted(
        Lead(
            subscription_name=subscription_name,
            email=email,
            first_name=first_name,
            last_name=last_name,
            company=company,
            country=country,
            add_on=add_on,
            submitted_at=now,
            status=LeadStatus.PENDING,
        )
    )


def embargoed_countries(config: Mapping[str, Any] | None = None) -> set[str]:
    value = (config or current_app.config)["EMBARGOED_COUNTRIES"]
    items = value.split(",") if isinstance(value, str) else value
    return {item.strip().upper() for item in items if item.strip()}


def next_lead_processing(now: dt.datetime, config: Mapping[str, Any]) -> dt.datetime:
    """The next daily run of lead processing strictly after ``now``."""
    hour, _, minute = str(config["LEAD_PROCESSING_TIME"]).partition(":")
    at = now.replace(hour=int(hour), minute=int(minute or 0), second=0, microsecond=0)
    return at if at > now else at + dt.timedelta(days=1)


def _drop(lead: Lead, reason: str, detail: str, now: dt.datetime) -> None:
    lead.status, lead.reason, lead.reason_detail, lead.processed_at = (
        LeadStatus.DROPPED,
        reason,
        detail,
        now,
    )


def ineligibility(
    lead: Lead, subscription: Subscription | None, today: dt.date, embargoed: set[str]
) -> tuple[str, str] | None:
    """Why this lead gets no trial, or None if it does; checked in the order sales checks."""
    if lead.country in embargoed:
        return Reason.EMBARGOED_COUNTRY, (
            f"The requester's country ({lead.country}) is embargoed: trials are not created and "
            "the requester is not told (R22)."
        )
    if subscription is None:
        return Reason.UNKNOWN_SUBSCRIPTION, f"No subscription is named {lead.subscription_name}."
    if lead.email.strip().lower() != subscription.contact_email.strip().lower():
        return Reason.EMAIL_NOT_CONTACT, (
            "The email does not match the subscription contact's email (R20)."
        )
    if subscription.plan == Plan.FREE.value:
        return (
            Reason.FREE_PLAN,
            "Duo trials need a paid Premium or Ultimate subscription, not Free (R19).",
        )
    if plan_trial_in_progress(subscription, today):
        return Reason.PLAN_TRIAL_IN_PROGRESS, (
            "A plan trial is in progress: plan trials use legacy licenses and Duo needs cloud "
            "licensing, so the plan trial must end first (R11)."
        )
    if subscription.kind == SubscriptionKind.COMMUNITY:
        return Reason.COMMUNITY_PROGRAM, (
            "Community-program subscriptions use legacy licenses and are not eligible for a Duo "
            "trial (R12)."
        )
    if subscription.kind != SubscriptionKind.PAID:
        return Reason.NOT_PAID, "Duo trials need a paid subscription (R19)."
    if not (subscription.starts_on <= today < subscription.ends_on):
        return Reason.EXPIRED, "The subscription is not active (R19)."
    for purchase in current_add_ons(subscription, today):
        if purchase.trial:
            return Reason.ALREADY_HAD_DUO_TRIAL, (
                f"The subscription already has a {AddOnTier(purchase.tier).label} trial (R19)."
            )
        return Reason.ALREADY_HAS_DUO, (
            f"The subscription already has {AddOnTier(purchase.tier).label} (R19)."
        )
    ended = ended_duo_trial(subscription, today)
    if ended is not None:
        return Reason.DUO_TRIAL_ENDED, (
            f"The subscription's {AddOnTier(ended.tier).label} trial ended on "
            f"{ended.ends_on.isoformat()}: a subscription gets one free GitLab Duo trial; sales "
            "can extend the ended trial as a $0 order (R23)."
        )
    return None


def new_duo_trial(subscription: Subscription, tier: AddOnTier, now: dt.datetime) -> AddOnPurchase:
    """A 60-day Duo trial for as many seats as the subscription has (R5), from today."""
    today = now.date()
    return db.inserted(
        AddOnPurchase(
            subscription=subscription,
            tier=tier.value,
            quantity=subscription.seats,
            starts_on=today,
            ends_on=today + dt.timedelta(days=DUO_TRIAL_DAYS),
            trial=True,
            created_at=now,
        )
    )


def start_duo_trial(subscription: Subscription, tier: AddOnTier, now: dt.datetime) -> AddOnPurchase:
    """A 60-day Duo trial for as many seats as the subscription has (R5), then R7's mail."""
    trial = new_duo_trial(subscription, tier, now)
    queue_mail(
        "trial_activation",
        subscription,
        f"Your {tier.label} trial for {subscription.name} has started",
        f"Your {DUO_TRIAL_DAYS}-day {tier.label} trial ({trial.quantity} seats) runs until "
        f"{trial.ends_on.isoformat()}.\n\nIt reaches your instance with the next daily "
        "synchronization, within 24 hours; an administrator can synchronize at once under "
        "Admin > Subscription, then assign seats under Admin > GitLab Duo.",
    )
    notify_license_change(subscription, now, f"Your {tier.label} trial has started.")
    return trial


def process_lead(lead: Lead, now: dt.datetime, embargoed: set[str]) -> None:
    subscription = find_subscription(lead.subscription_name)
    lead.subscription_id = subscription.id if subscription else None
    refusal = ineligibility(lead, subscription, now.date(), embargoed)
    if refusal is not None:
        _drop(lead, *refusal, now)
        return
    # Pending leads are the public form's, which always names its add-on.
    assert subscription is not None and lead.add_on is not None
    lock(subscription)
    refusal = ineligibility(lead, subscription, now.date(), embargoed)  # again, under the lock
    if refusal is not None:
        _drop(lead, *refusal, now)
        return
    trial = start_duo_trial(subscription, AddOnTier(lead.add_on), now)
    lead.status, lead.processed_at, lead.add_on_purchase_id = (
        LeadStatus.TRIAL_CREATED,
        now,
        trial.id,
    )


def process_due_leads(now: dt.datetime) -> int:
    """Sales' daily pass (R21): every lead that has waited long enough, oldest first."""
    delay = dt.timedelta(minutes=int(current_app.config["LEAD_PROCESSING_DELAY_MINUTES"]))
    embargoed = embargoed_countries()
    params = {"submitted_by": now - delay}
    # Most days none is due: asked as a column first, the leads loaded only when there are some.
    if read_columns(db.session, _ANY_DUE_LEAD, params).first() is None:
        return 0
    leads = db.session.execute(_DUE_LEADS, params).scalars().all()
    for lead in leads:
        process_lead(lead, now, embargoed)
        db.session.flush()
    return len(leads)


# Built once: the pass runs every day and mostly finds nothing.
_LEAD_DUE = (
    Lead.status == LeadStatus.PENDING,
    Lead.submitted_at <= sa.bindparam("submitted_by", type_=Lead.submitted_at.type),
)
_DUE_LEADS = sa.select(Lead).where(*_LEAD_DUE).order_by(Lead.submitted_at, Lead.id)
_ANY_DUE_LEAD = sa.select(Lead.id).where(*_LEAD_DUE).limit(1)


def leads_for(subscription: Subscription) -> list[Lead]:
    """Every lead naming this subscription (support's view)."""
    return list(
        db.session.execute(
            sa.select(Lead)
            .where(
                sa.or_(
                    Lead.subscription_name == subscription.name,
                    Lead.subscription_id == subscription.id,
                )
            )
            .order_by(Lead.submitted_at.desc(), Lead.id.desc())
        ).scalars()
    )


def search_leads(query: str) -> list[Lead]:
    return support_search(
        sa.select(Lead).order_by(Lead.submitted_at.desc(), Lead.id.desc()).limit(100),
        query,
        Lead.subscription_name,
        Lead.email,
    )
