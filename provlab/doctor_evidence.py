"""Gathering the doctor's evidence: from the portal's database, and from an instance (live or a
diagnostics bundle). Only reads; never changes either party."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from flask import Flask

from protocol.clock import parse_utc
from provlab.doctor_model import (
    UNSTATED,
    Candidate,
    InstanceEvidence,
    LeadEvidence,
    PortalEvidence,
    TrialEvidence,
)
from webcore.clock import app_clock


def portal_evidence(app: Flask, subscription_name: str, email: str | None = None) -> PortalEvidence:
    """What the portal knows of a subscription's trial path (call outside an app context)."""
    from portal.leads import leads_for
    from portal.models import Activation, Job, Order, OrderKind, db
    from portal.subscriptions import find_subscription

    with app.app_context():
        now = app_clock(app).now()
        subscription = find_subscription(subscription_name)
        name = subscription_name.strip().upper()
        job = (
            db.session.execute(sa.select(Job).where(Job.name == "process_leads")).scalars().first()
        )
        read = _LeadReader(app, now, job.next_run_at if job is not None else None)
        if subscription is None:
            # A lead may still name it (a typo the customer made): show those leads, and the
            # subscriptions its requesters have, the closest name first.
            orphans = read.leads(_leads_naming(name), None)
            candidates = _candidates(
                {lead.email for lead in orphans} | ({email} if email else set()),
                {lead.company for lead in orphans},
            )
            return PortalEvidence(
                now,
                name,
                found=False,
                leads=orphans,
                candidates=candidates,
                close_match=closest_subscription(name, candidates),
            )
        leads = [
            lead
            for lead in leads_for(subscription)
            if email is None or lead.email.lower() == email.lower()
        ]
        leads.sort(key=lambda lead: (lead.submitted_at, lead.id))
        trials = [p for p in subscription.add_on_purchases if p.trial]
        extended = {
            purchase_id: at
            for purchase_id, at in db.session.execute(
                sa.select(Order.add_on_purchase_id, sa.func.max(Order.created_at))
                .where(
                    Order.subscription_id == subscription.id,
                    Order.kind == OrderKind.TRIAL_EXTENSION,
                )
                .group_by(Order.add_on_purchase_id)
            ).tuples()
        }
        activation = db.find(Activation, Activation.subscription_id == subscription.id)
        pending = [lead for lead in leads if lead.status == "pending"]
        return PortalEvidence(
            now=now,
            subscription_name=subscription.name,
            found=True,
            plan=subscription.plan,
            kind=subscription.kind,
            license_type=subscription.license_type,
            contact_email=subscription.contact_email,
            ends_on=subscription.ends_on,
            leads=read.leads(leads, subscription),
            trials=tuple(
                TrialEvidence(
                    t.tier,
                    t.quantity,
                    t.starts_on,
                    t.ends_on,
                    t.created_at,
                    extended.get(t.id),
                )
                for t in trials
            ),
            next_lead_processing_at=read.processing_at(pending[-1]) if pending else None,
            activated_instance=activation.instance_id if activation else None,
            activated_at=activation.activated_at if activation else None,
            last_sync_at=activation.last_sync_at if activation else None,
            reported_version=activation.gitlab_version if activation else None,
            misnamed_leads=read.leads(
                _misnamed_leads(subscription, email) if not leads else [], None
            ),
        )


class _LeadReader:
    """Leads as evidence; a pending one with what lead processing will decide on it (R21)."""

    def __init__(self, app: Flask, now: dt.datetime, next_run_at: dt.datetime | None) -> None:
        from portal.leads import embargoed_countries

        self.now, self.next_run_at = now, next_run_at
        self.delay = dt.timedelta(minutes=int(app.config.get("LEAD_PROCESSING_DELAY_MINUTES", 0)))
        self.embargoed = embargoed_countries(app.config)

    def processing_at(self, lead: Any) -> dt.datetime | None:
        """The first daily run of lead processing that takes this lead."""
        if self.next_run_at is None:
            return None
        at = self.next_run_at
        while at < lead.submitted_at + self.delay:
            at += dt.timedelta(days=1)
        return at

    def leads(self, leads: Sequence[Any], subscription: Any) -> tuple[LeadEvidence, ...]:
        return tuple(self.lead(lead, subscription) for lead in leads)

    def lead(self, lead: Any, subscription: Any) -> LeadEvidence:
        from portal.leads import ineligibility

        evidence = _lead(lead)
        if lead.status == "pending":
            # The same rules sales applies, on the day they will: a known answer, told early.
            at = self.processing_at(lead)
            expected = ineligibility(lead, subscription, (at or self.now).date(), self.embargoed)
            evidence = replace(
                evidence,
                expected_reason=expected[0] if expected else None,
                expected_detail=expected[1] if expected else None,
                expected_at=at,
            )
        if subscription is None:
            candidates = _candidates({lead.email}, {lead.company})
            evidence = replace(
                evidence,
                candidates=candidates,
                close_match=closest_subscription(lead.subscription_name, candidates),
            )
        return evidence


def _leads_naming(name: str) -> list[Any]:
    from portal.models import Lead, db

    return list(
        db.session.execute(
            sa.select(Lead).where(Lead.subscription_name == name).order_by(Lead.submitted_at)
        ).scalars()
    )


def _misnamed_leads(subscription: Any, email: str | None) -> list[Any]:
    """Requests from the subscription's contact or customer (or the requester support names
    with ``--email``) that name no subscription at all."""
    from portal.models import Account, Lead, Subscription, db

    emails = {subscription.contact_email.lower(), *([email.lower()] if email else [])}
    customer = db.session.get(Account, subscription.customer_id)
    if customer is not None:
        emails.add(customer.email.lower())
    return list(
        db.session.execute(
            sa.select(Lead)
            .where(
                sa.func.lower(Lead.email).in_(emails),
                Lead.subscription_name.not_in(sa.select(Subscription.name)),
            )
            .order_by(Lead.submitted_at, Lead.id)
        ).scalars()
    )


def _candidates(emails: set[str], companies: set[str]) -> tuple[Candidate, ...]:
    """The subscriptions whose contact or customer has one of these emails, or whose contact's
    company is one of these companies: what a requester who mistyped a name may have meant."""
    from portal.models import Account, Subscription, db

    emails = {each.strip().lower() for each in emails if each.strip()}
    companies = {each.strip().lower() for each in companies if each.strip()}
    rows = db.session.execute(
        sa.select(Subscription, Account.email)
        .join(Account, Account.id == Subscription.customer_id)
        .where(
            sa.or_(
                sa.func.lower(Subscription.contact_email).in_(emails),
                sa.func.lower(Account.email).in_(emails),
                sa.func.lower(Subscription.contact_company).in_(companies),
            )
        )
        .order_by(Subscription.name)
    ).all()
    found = []
    for subscription, customer_email in rows:
        if subscription.contact_email.lower() in emails:
            because = f"{subscription.contact_email} is its contact"
        elif customer_email.lower() in emails:
            because = f"{customer_email} is its customer's account"
        else:
            because = f"its contact's company is {subscription.contact_company}"
        found.append(Candidate(subscription.name, because))
    return tuple(found)


# Letters a customer reads for digits in a subscription badge (``A-S0004202O``).
_LOOKALIKES = str.maketrans("OIL", "011")


def closest_subscription(name: str, candidates: Sequence[Candidate]) -> str | None:
    """The candidate name closest to a mistyped one (``A-S0004202O`` → ``A-S00042020``), if one
    is clearly closest: look-alike letters count as their digits, and a tie suggests none."""
    typed = name.upper().translate(_LOOKALIKES)
    scored = sorted(
        (
            difflib.SequenceMatcher(None, typed, each.name.upper().translate(_LOOKALIKES)).ratio(),
            each.name,
        )
        for each in candidates
    )
    if not scored or scored[-1][0] < 0.6:
        return None
    if len(scored) > 1 and scored[-2][0] == scored[-1][0]:
        return None
    return scored[-1][1]


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
        subscription_name=lead.subscription_name,
        company=lead.company,
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
