"""``provlab doctor trial``: why has a customer's GitLab Duo trial not started?

The diagnosis walks the path a trial takes, in order, and stops at the first broken link:

  1. the subscription exists;
  2. the trial request (lead) reached the portal (R20, R21);
  3. the lead was processed — or when it will be (R21);
  4. it was turned into a trial — or dropped, and why (R11, R12, R19, R20, R22);
  5. the instance can receive it: cloud license, not offline or legacy (R10), activated (R8),
     a version that supports Duo (R17);
  6. the instance synced since the trial was created, and if not, whether sync is failing (R16)
     or simply not due yet (R13);
  7. seats were assigned (R24).

Evidence comes from the portal (always) and from the instance (its live state or an exported
diagnostics bundle) when available. The verdict names the cause, the rule and the next action;
the evidence that led there is listed below it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from instance.add_ons import DEGRADED_BELOW
from portal.leads import Reason
from protocol.clock import format_utc
from protocol.license import AddOnTier
from protocol.versions import GitLabVersion


@dataclass(frozen=True)
class LeadEvidence:
    submitted_at: dt.datetime
    email: str
    country: str
    add_on: str
    status: str  # "pending", "trial_created", "dropped"
    reason: str | None = None
    reason_detail: str | None = None
    processed_at: dt.datetime | None = None


@dataclass(frozen=True)
class TrialEvidence:
    tier: str
    quantity: int
    starts_on: dt.date
    ends_on: dt.date
    created_at: dt.datetime


@dataclass(frozen=True)
class PortalEvidence:
    now: dt.datetime
    subscription_name: str
    found: bool
    plan: str | None = None
    kind: str | None = None
    license_type: str | None = None
    contact_email: str | None = None
    ends_on: dt.date | None = None
    leads: tuple[LeadEvidence, ...] = ()
    trials: tuple[TrialEvidence, ...] = ()
    next_lead_processing_at: dt.datetime | None = None
    activated_instance: str | None = None
    activated_at: dt.datetime | None = None
    last_sync_at: dt.datetime | None = None
    reported_version: str | None = None


@dataclass(frozen=True)
class InstanceEvidence:
    now: dt.datetime
    license_type: str | None  # None: no license at all
    subscription_name: str | None
    gitlab_version: str
    last_sync_at: dt.datetime | None
    last_sync_error: str | None
    next_sync_at: dt.datetime | None
    duo_tier: str | None = None  # the add-on purchase the instance knows of
    duo_quantity: int = 0
    duo_trial: bool = False
    duo_ends_on: dt.date | None = None
    assigned_seats: int = 0
    proxy: str | None = None


@dataclass(frozen=True)
class Verdict:
    cause: str
    headline: str
    rule: str | None
    next_action: str
    evidence: list[str] = field(default_factory=list)
    healthy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "headline": self.headline,
            "rule": self.rule,
            "next_action": self.next_action,
            "healthy": self.healthy,
            "evidence": self.evidence,
        }

    def render(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        lines = [f"VERDICT: {self.headline}{rule}", f"NEXT:    {self.next_action}", "", "Evidence:"]
        lines += [f"  - {line}" for line in self.evidence]
        return "\n".join(lines)


@dataclass(frozen=True)
class Explanation:
    headline: str
    rule: str
    action: str


# Why sales dropped a lead, as the support engineer needs to hear it.
DROP_REASONS: dict[str, Explanation] = {
    Reason.EMBARGOED_COUNTRY: Explanation(
        headline=(
            "The trial request came from an embargoed country: the form showed success, but the "
            "application failed silently and no trial was created"
        ),
        rule="R22",
        action=(
            "No trial can be created for this requester. Ask in #duo-pro-trial-requests for clarification; "
            "do not tell the customer more than policy allows."
        ),
    ),
    Reason.EMAIL_NOT_CONTACT: Explanation(
        headline=("The email on the trial request is not the subscription contact's email"),
        rule="R20",
        action=(
            "Ask the customer to submit the trial form again with the subscription contact's email "
            "(or change the subscription contact first)."
        ),
    ),
    Reason.PLAN_TRIAL_IN_PROGRESS: Explanation(
        headline=(
            "The subscription is a self-managed Ultimate plan trial (a legacy license): Duo cannot be "
            "trialled at the same time"
        ),
        rule="R11",
        action=(
            "The customer must finish the Ultimate trial, then request the Duo trial separately."
        ),
    ),
    Reason.COMMUNITY_PROGRAM: Explanation(
        headline=(
            "Community-program subscriptions (legacy licenses) are not eligible for a Duo trial"
        ),
        rule="R12",
        action=("No Duo trial is possible on a community-program subscription."),
    ),
    Reason.FREE_PLAN: Explanation(
        headline=(
            "The subscription is on the Free plan: Duo trials need an active paid Premium or Ultimate "
            "subscription"
        ),
        rule="R19",
        action=("The customer needs a paid Premium or Ultimate subscription first."),
    ),
    Reason.NOT_PAID: Explanation(
        headline=("The subscription is not a paid subscription"),
        rule="R19",
        action=("The customer needs an active paid Premium or Ultimate subscription."),
    ),
    Reason.EXPIRED: Explanation(
        headline=("The subscription is not active (expired or not started)"),
        rule="R19",
        action=("Renew the subscription, then request the trial again."),
    ),
    Reason.ALREADY_HAS_DUO: Explanation(
        headline=("The subscription already has GitLab Duo (a purchase or an earlier trial)"),
        rule="R19",
        action=("No new trial is needed; to extend a trial, sales books a $0 order (R23)."),
    ),
    Reason.ALREADY_HAD_DUO_TRIAL: Explanation(
        headline="The subscription already has a GitLab Duo trial",
        rule="R19",
        action=(
            "Support cannot extend Duo trials (R23); sales can extend one as a $0 order on the "
            "subscription."
        ),
    ),
    Reason.UNKNOWN_SUBSCRIPTION: Explanation(
        headline=("The trial request named a subscription the portal does not know"),
        rule="R20",
        action=(
            "Ask the customer for the subscription name shown as a badge on the subscription page."
        ),
    ),
}


def diagnose_trial(portal: PortalEvidence, instance: InstanceEvidence | None) -> Verdict:
    """Walk the trial's path and name the first broken link."""
    evidence: list[str] = []
    now = portal.now
    if not portal.found:
        return Verdict(
            "unknown_subscription",
            f"No subscription named {portal.subscription_name} exists in the portal",
            "R20",
            "Ask the customer for the subscription name shown as a badge on the subscription page.",
            evidence,
        )
    evidence.append(
        f"subscription {portal.subscription_name}: {portal.plan}, {portal.kind}, "
        f"{portal.license_type} license, contact {portal.contact_email}, ends {portal.ends_on}"
    )
    trial = _latest_trial(portal)
    lead = portal.leads[-1] if portal.leads else None
    for each in portal.leads:
        evidence.append(
            f"lead submitted {format_utc(each.submitted_at)} by {each.email} ({each.country}, {each.add_on}): "
            f"{each.status}"
            + (f" — reason {each.reason}" if each.reason else "")
            + (f" at {format_utc(each.processed_at)}" if each.processed_at else "")
        )
    if trial is not None:
        evidence.append(
            f"trial {trial.tier}: {trial.quantity} seats, {trial.starts_on} to {trial.ends_on}, "
            f"created {format_utc(trial.created_at)}"
        )
    if trial is None:
        if lead is None:
            return Verdict(
                "no_trial_request",
                "The portal has received no trial request for this subscription",
                "R21",
                "Ask the customer to submit the GitLab Duo trial form with the subscription name "
                "and the subscription contact's email.",
                evidence,
            )
        if lead.status == "pending":
            when = portal.next_lead_processing_at
            return Verdict(
                "lead_not_processed",
                "The trial request was received but not processed yet (sales process requests "
                "through the marketing system, not instantly)",
                "R21",
                f"Wait for the next processing at {format_utc(when)}."
                if when
                else "Wait for sales to process the request.",
                evidence,
            )
        if lead.status == "dropped":
            explained = DROP_REASONS.get(lead.reason or "") or Explanation(
                f"The trial request was dropped ({lead.reason})",
                "R21",
                "Check the reason with sales.",
            )
            if lead.reason_detail:
                evidence.append(f"internal reason: {lead.reason_detail}")
            return Verdict(
                lead.reason or "dropped",
                explained.headline,
                explained.rule,
                explained.action,
                evidence,
            )
    if trial is not None and trial.ends_on <= now.date():
        return Verdict(
            "trial_ended",
            f"The trial ended on {trial.ends_on}",
            "R23",
            "Support cannot extend Duo trials; sales can extend it as a $0 order on the subscription.",
            evidence,
        )
    return _instance_side(portal, instance, trial, evidence)


def _instance_side(
    portal: PortalEvidence,
    instance: InstanceEvidence | None,
    trial: TrialEvidence | None,
    evidence: list[str],
) -> Verdict:
    license_type = instance.license_type if instance else portal.license_type
    if license_type in ("offline_cloud", "legacy"):
        label = "an offline" if license_type == "offline_cloud" else "a legacy"
        return Verdict(
            f"{license_type}_license",
            f"The instance uses {label} license: GitLab Duo needs a cloud license (online sync)",
            "R10",
            "Generate a cloud activation code on the subscription card in the Customers Portal and "
            "activate the instance with it (Admin → Subscription).",
            evidence,
        )
    if instance is None:
        if portal.activated_instance is None:
            return Verdict(
                "not_activated",
                "No instance has activated this subscription with its cloud activation code",
                "R8",
                "Generate the activation code on the subscription card and activate the instance "
                "with it (Admin → Subscription).",
                evidence,
            )
        evidence.append(
            f"activated instance {portal.activated_instance} at {format_utc(portal.activated_at)}"
            if portal.activated_at
            else f"activated instance {portal.activated_instance}"
        )
        evidence.append(
            f"last sync seen by the portal: {format_utc(portal.last_sync_at)}"
            if portal.last_sync_at
            else "the portal has seen no sync since activation"
        )
        version = portal.reported_version
        last_sync = portal.last_sync_at or portal.activated_at
        error = None
        next_sync = None
    else:
        evidence.append(
            f"instance: GitLab {instance.gitlab_version}, {instance.license_type or 'no'} license"
            + (f" for {instance.subscription_name}" if instance.subscription_name else "")
        )
        if instance.license_type is None:
            return Verdict(
                "not_activated",
                "The instance has no license: it was never activated",
                "R8",
                "Activate the instance with the subscription's cloud activation code (Admin → Subscription).",
                evidence,
            )
        version = instance.gitlab_version
        last_sync = instance.last_sync_at
        error = instance.last_sync_error
        next_sync = instance.next_sync_at
        evidence.append(f"instance last sync: {format_utc(last_sync) if last_sync else 'never'}")
        if error:
            evidence.append(f"last sync error: {error}")
        if next_sync:
            evidence.append(f"next scheduled sync: {format_utc(next_sync)}")
        if instance.proxy:
            evidence.append(f"proxy in use: {instance.proxy}")
    # R17 lives with the add-on tiers (protocol.license); R18's threshold with the instance.
    tier = AddOnTier(trial.tier) if trial else AddOnTier.DUO_PRO
    minimum = tier.minimum_gitlab_version
    if version and GitLabVersion.parse(version) < minimum:
        return Verdict(
            "version_too_old",
            f"The instance runs GitLab {version}; {tier.label} needs {minimum} or later",
            "R17",
            f"Upgrade the instance to GitLab {minimum} or later "
            f"({DEGRADED_BELOW.major}.{DEGRADED_BELOW.minor}+ for the best experience).",
            evidence,
        )
    if trial is not None and (last_sync is None or last_sync < trial.created_at):
        if error:
            return Verdict(
                "sync_failing",
                "The instance cannot sync with the portal, so the trial has not reached it",
                "R16",
                "Fix the instance's outbound connection to the portal (firewall, HTTP proxy settings), "
                "then select Synchronize subscription in Admin → Subscription.",
                evidence,
            )
        when = f" (next at {format_utc(next_sync)})" if next_sync else ""
        return Verdict(
            "not_yet_synced",
            "The trial exists but the instance has not synced since it was created: trials reach "
            "instances through the daily sync, up to 24 hours later",
            "R13",
            f"Wait for the daily sync{when}, or select Synchronize subscription in Admin → Subscription.",
            evidence,
        )
    if instance is not None and trial is not None:
        if instance.duo_tier is None:
            return Verdict(
                "not_yet_synced",
                "The instance synced but knows no GitLab Duo add-on yet",
                "R15",
                "Select Synchronize subscription in Admin → Subscription; the GitLab Duo menu appears "
                "once the trial is known.",
                evidence,
            )
        evidence.append(
            f"instance add-on: {instance.duo_tier}, {instance.duo_quantity} seats, "
            f"{instance.assigned_seats} assigned"
        )
        if instance.assigned_seats == 0:
            return Verdict(
                "no_seats_assigned",
                "The trial reached the instance, but no seats are assigned: users get GitLab Duo "
                "only through a seat",
                "R24",
                "Assign seats to billable users in Admin → GitLab Duo.",
                evidence,
            )
    return Verdict(
        "trial_active",
        "The trial is active"
        + (" and seats are assigned" if instance and instance.assigned_seats else ""),
        None,
        "Nothing to fix.",
        evidence,
        healthy=True,
    )


def _latest_trial(portal: PortalEvidence) -> TrialEvidence | None:
    return max(portal.trials, key=lambda t: t.created_at) if portal.trials else None
