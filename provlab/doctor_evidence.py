"""Gathering the doctor's evidence: from the portal's database, and from an instance (live or a
diagnostics bundle). Only reads; never changes either party."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Flask

from protocol.clock import parse_utc
from provlab.doctor_model import (
    UNSTATED,
    InstanceEvidence,
    LeadEvidence,
    PortalEvidence,
    TrialEvidence,
)
from webcore.clock import app_clock


def portal_evidence(app: Flask, subscription_name: str, email: str | None = None) -> PortalEvidence:
    """What the portal knows of a subscription's trial path (call outside an app context)."""
    from portal.leads import leads_for
    from portal.models import Activation, Job, Lead, db
    from portal.subscriptions import find_subscription

    with app.app_context():
        now = app_clock(app).now()
        subscription = find_subscription(subscription_name)
        name = subscription_name.strip().upper()
        if subscription is None:
            # A lead may still name it (a typo the customer made): show those leads.
            orphans = (
                db.session.execute(
                    sa.select(Lead)
                    .where(Lead.subscription_name == name)
                    .order_by(Lead.submitted_at)
                )
                .scalars()
                .all()
            )
            return PortalEvidence(
                now, name, found=False, leads=tuple(_lead(lead) for lead in orphans)
            )
        leads = [
            lead
            for lead in leads_for(subscription)
            if email is None or lead.email.lower() == email.lower()
        ]
        leads.sort(key=lambda lead: (lead.submitted_at, lead.id))
        trials = [p for p in subscription.add_on_purchases if p.trial]
        activation = db.session.execute(
            sa.select(Activation).where(Activation.subscription_id == subscription.id)
        ).scalar_one_or_none()
        job = (
            db.session.execute(sa.select(Job).where(Job.name == "process_leads")).scalars().first()
        )
        pending = [lead for lead in leads if lead.status == "pending"]
        next_processing = None
        if job is not None and job.next_run_at is not None and pending:
            delay = dt.timedelta(minutes=int(app.config.get("LEAD_PROCESSING_DELAY_MINUTES", 0)))
            next_processing = job.next_run_at
            while next_processing < pending[-1].submitted_at + delay:
                next_processing += dt.timedelta(days=1)
        return PortalEvidence(
            now=now,
            subscription_name=subscription.name,
            found=True,
            plan=subscription.plan,
            kind=subscription.kind,
            license_type=subscription.license_type,
            contact_email=subscription.contact_email,
            ends_on=subscription.ends_on,
            leads=tuple(_lead(lead) for lead in leads),
            trials=tuple(
                TrialEvidence(t.tier, t.quantity, t.starts_on, t.ends_on, t.created_at)
                for t in trials
            ),
            next_lead_processing_at=next_processing,
            activated_instance=activation.instance_id if activation else None,
            activated_at=activation.activated_at if activation else None,
            last_sync_at=activation.last_sync_at if activation else None,
            reported_version=activation.gitlab_version if activation else None,
        )


def _lead(lead: Any) -> LeadEvidence:
    return LeadEvidence(
        submitted_at=lead.submitted_at,
        email=lead.email,
        country=lead.country,
        add_on=lead.add_on,
        status=lead.status,
        reason=lead.reason,
        reason_detail=lead.reason_detail,
        processed_at=lead.processed_at,
    )


class BundleError(ValueError):
    """A diagnostics bundle that cannot be read."""


def instance_evidence(bundle: dict[str, Any]) -> InstanceEvidence:
    """The instance's side, from a diagnostics bundle (``instance.diagnostics``)."""
    from instance.diagnostics import BUNDLE_FORMAT

    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"not a diagnostics bundle (expected format {BUNDLE_FORMAT})")
    try:
        license_info = bundle["license"]
        sync = bundle["sync"]
        purchase = bundle["duo"]["purchase"]
        about = bundle["instance"]
        proxy = about.get("proxy") or {}
        return InstanceEvidence(
            now=parse_utc(bundle["generated_at"]),
            license_type=license_info["type"] if license_info else None,
            subscription_name=license_info["subscription_name"] if license_info else None,
            gitlab_version=about["gitlab_version"],
            # Bundles written before the source was stated carried the exporting process's
            # configured version: the doctor cross-checks those with the portal's.
            version_source=about.get("gitlab_version_source") or UNSTATED,
            version_at=_time(about.get("gitlab_version_at")),
            instance_id=about.get("instance_id"),
            last_sync_at=_time(sync["last_success_at"]),
            last_sync_error=sync["last_error"],
            next_sync_at=_time(sync["next_sync_at"]),
            duo_tier=purchase["tier"] if purchase else None,
            duo_quantity=purchase["quantity"] if purchase else 0,
            duo_trial=purchase["trial"] if purchase else False,
            duo_ends_on=dt.date.fromisoformat(purchase["ends_on"]) if purchase else None,
            assigned_seats=purchase["assigned_seats"] if purchase else 0,
            proxy=proxy.get("HTTPS_PROXY")
            or proxy.get("https_proxy")
            or proxy.get("HTTP_PROXY")
            or proxy.get("http_proxy"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"the diagnostics bundle is incomplete or damaged ({exc})") from None


def _time(value: str | None) -> dt.datetime | None:
    return parse_utc(value) if value else None


def fetch_bundle(url: str, token: str, user: str | None = None) -> dict[str, Any]:
    """The running instance's own diagnostics bundle (its admin route, an admin's token);
    ``user`` adds that user's part (for ``provlab doctor seat``)."""
    import requests

    try:
        response = requests.get(
            f"{url.rstrip('/')}/admin/subscription/diagnostics.json",
            headers={"PRIVATE-TOKEN": token},
            params={"user": user} if user else None,
            timeout=15,
        )
    except requests.RequestException as exc:
        raise BundleError(f"cannot reach the instance at {url}: {exc}") from None
    if response.status_code != 200:
        raise BundleError(f"the instance refused the diagnostics request ({response.status_code})")
    try:
        answer = response.json()
    except ValueError:
        raise BundleError("the instance answered something other than a bundle") from None
    if not isinstance(answer, dict):
        raise BundleError("the instance answered something other than a bundle")
    return answer
