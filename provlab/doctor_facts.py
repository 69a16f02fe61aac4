"""The facts the doctor states, each worded once: in a finding ("because") and in the evidence
list below the verdict. Each names the party it comes from."""

from __future__ import annotations

from protocol.clock import format_utc
from protocol.license import AddOnTier
from provlab.doctor_gather import PurchaseEvidence
from provlab.doctor_model import (
    LAST_SYNC_ATTEMPT,
    RUNNING,
    InstanceEvidence,
    LeadEvidence,
    PortalEvidence,
    TrialEvidence,
)


def evidence_lines(
    portal: PortalEvidence | None,
    instance: InstanceEvidence | None,
    purchases: tuple[PurchaseEvidence, ...] = (),
) -> list[str]:
    """Everything read, finding or not, for the support engineer to check (``portal`` None: the
    portal was not read; ``purchases``: its GitLab Duo purchases, for the doctors that read them)."""
    lines = _portal_lines(portal) if portal is not None else []
    lines += _instance_lines(instance) if instance is not None else []
    if portal is not None:
        # Its trials are listed with the subscription's above: only the purchases are new here.
        lines += [f"portal: {p.fact()}" for p in purchases if not p.trial]
    return lines


def add_on_label(tier: str) -> str:
    """An add-on as GitLab names it ("GitLab Duo Pro"); a tier this version does not know (an
    instance newer than Provision Lab may report one) by the name the instance gave."""
    try:
        return AddOnTier(tier).label
    except ValueError:
        return tier


def _portal_lines(portal: PortalEvidence) -> list[str]:
    lines: list[str] = []
    if portal.found:
        lines.append(
            f"portal: subscription {portal.subscription_name}: {portal.plan}, {portal.kind}, "
            f"{portal.license_type} license, contact {portal.contact_email}, ends {portal.ends_on}"
        )
    lines += [f"portal: {lead_fact(lead)}" for lead in portal.leads]
    lines += [f"portal: {lead_fact(lead, named=True)}" for lead in portal.misnamed_leads]
    lines += [f"portal: {trial_fact(trial)}" for trial in portal.trials]
    if portal.activated_instance:
        at = f" at {format_utc(portal.activated_at)}" if portal.activated_at else ""
        lines.append(f"portal: activated by instance {portal.activated_instance}{at}")
        lines.append(
            f"portal: last sync seen {format_utc(portal.last_sync_at)}"
            if portal.last_sync_at
            else "portal: no sync seen since activation"
        )
        if portal.reported_version:
            lines.append(f"portal: the instance reported GitLab {portal.reported_version}")
    return lines


def _instance_lines(instance: InstanceEvidence) -> list[str]:
    version = (
        f"GitLab {instance.gitlab_version} ({version_origin(instance)})"
        if instance.gitlab_version
        else "GitLab version unknown"
    )
    lines = [
        f"instance{who(instance)}: {version}, {instance.license_type or 'no'} license"
        + (f" for {instance.subscription_name}" if instance.subscription_name else "")
    ]
    last = instance.last_sync_at
    lines.append(f"instance: last sync: {format_utc(last) if last else 'never'}")
    if instance.last_sync_error:
        lines.append(f"instance: last sync error: {instance.last_sync_error}")
    if instance.next_sync_at:
        lines.append(f"instance: next scheduled sync: {format_utc(instance.next_sync_at)}")
    if instance.proxy:
        lines.append(f"instance: proxy in use: {instance.proxy}")
    if instance.duo_tier:
        ends = f", ends {instance.duo_ends_on}" if instance.duo_ends_on else ""
        lines.append(f"instance: add-on {add_on_fact(instance)}{ends}")
    return lines


def lead_fact(lead: LeadEvidence, *, named: bool = False) -> str:
    """The request as the portal stored it (``named``: with the subscription name it gave)."""
    return (
        ("trial request for " + lead.subscription_name if named else "trial request")
        + f" submitted {format_utc(lead.submitted_at)} by {lead.email}"
        + f" ({lead.country}, {lead.add_on or 'Ultimate trial'}): "
        f"{lead.status}"
        + (f" — reason {lead.reason}" if lead.reason else "")
        + (f" at {format_utc(lead.processed_at)}" if lead.processed_at else "")
    )


def trial_fact(trial: TrialEvidence) -> str:
    return (
        f"{trial.tier} trial: {trial.quantity} seats, {trial.starts_on} to {trial.ends_on}, "
        f"created {format_utc(trial.created_at)}"
        + (f", extended by sales at {format_utc(trial.extended_at)}" if trial.extended_at else "")
    )


def add_on_fact(instance: InstanceEvidence) -> str:
    return (
        f"{instance.duo_tier}{' trial' if instance.duo_trial else ''}, {instance.duo_quantity} "
        f"seats, {instance.assigned_seats} assigned"
    )


def version_origin(instance: InstanceEvidence) -> str:
    if instance.version_source == RUNNING:
        return "the running instance"
    if instance.version_source == LAST_SYNC_ATTEMPT:
        at = f" at {format_utc(instance.version_at)}" if instance.version_at else ""
        return f"what it ran at its last sync attempt{at}"
    return "as the bundle says, without saying where from"


def who(instance: InstanceEvidence | None) -> str:
    return f" {instance.instance_id}" if instance is not None and instance.instance_id else ""
