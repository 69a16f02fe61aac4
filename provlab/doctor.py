"""``provlab doctor trial``: why has a customer's GitLab Duo trial not started?

The diagnosis walks the path a trial takes, in order:

  1. the subscription exists;
  2. the trial request (lead) reached the portal (R20, R21);
  3. the lead was processed — or when it will be (R21);
  4. it was turned into a trial — or dropped, and why (R11, R12, R19, R20, R22);
  5. the instance is the one licensed for this subscription (R8), can receive the trial: cloud
     license, not offline or legacy (R10), activated (R8), a version that supports Duo (R17);
  6. the instance synced since the trial was created, and if not, whether sync is failing (R16)
     or simply not due yet (R13);
  7. the instance knows the trial, and seats were assigned (R15, R24).

It does not stop at the first broken link: the verdict names the first on the path and lists
every other blocker as "also" (a dropped request does not hide an offline license). Steps 6-7
are only judged when nothing earlier blocks, since they follow from the earlier ones.

Evidence comes from the portal (always) and from the instance (its live state or an exported
diagnostics bundle) when available. Each finding states the facts it rests on, naming the party
each comes from; when two parties disagree (the instance runs another subscription, a bundle's
version is not what the instance reported to the portal), the disagreement is a finding itself:
the doctor never says "nothing to fix" against its own evidence.
"""

from __future__ import annotations

import datetime as dt

from protocol.clock import format_utc
from protocol.license import AddOnTier
from provlab.doctor_common import (
    bound_to_other_instance,
    never_activated,
    no_license,
    offline_license,
    sync_failing,
    version_too_old,
)
from provlab.doctor_facts import (
    add_on_fact,
    evidence_lines,
    trial_fact,
    version_origin,
    who,
)
from provlab.doctor_model import (
    LAST_SYNC_ATTEMPT,
    RUNNING,
    Finding,
    InstanceEvidence,
    LeadEvidence,
    PortalEvidence,
    TrialEvidence,
    Verdict,
)
from provlab.doctor_reasons import DROP_REASONS
from provlab.doctor_request import request_path, unknown_subscription

__all__ = [
    "DROP_REASONS",
    "Finding",
    "InstanceEvidence",
    "LeadEvidence",
    "PortalEvidence",
    "TrialEvidence",
    "Verdict",
    "diagnose_trial",
]


# An instance that has no license is activated from its own Admin → Subscription page.
ACTIVATE_THIS_INSTANCE = (
    "Activate the instance with the subscription's cloud activation code (Admin → Subscription)."
)
REEXPORT = (
    "Read the version in Admin → Overview, and export the bundle again from the running "
    "instance (Admin → Subscription → Download diagnostics bundle, or "
    "`provlab instance diagnostics --url URL --token PAT`)."
)


def diagnose_trial(portal: PortalEvidence, instance: InstanceEvidence | None) -> Verdict:
    """Walk the trial's path: the first broken link is the verdict, every other one "also"."""
    evidence = evidence_lines(portal, instance)
    if not portal.found:
        also = (
            (_other_subscription(portal, instance),)
            if instance and instance.subscription_name
            else ()
        )
        return Verdict(unknown_subscription(portal), evidence, also)
    trial = _latest_trial(portal)
    findings = [found for found in [request_path(portal, trial)] if found]
    # Only the instance licensed for this subscription speaks for it; another one's license,
    # sync and seats are about another subscription, so the portal speaks for this one.
    own = instance
    if instance is not None and instance.subscription_name not in (None, portal.subscription_name):
        findings.append(_other_subscription(portal, instance))
        own = None
    elif (
        instance is not None
        and instance.subscription_name
        and instance.instance_id
        and portal.activated_instance
        and instance.instance_id != portal.activated_instance
    ):
        findings.append(
            bound_to_other_instance(portal, instance, "read the other instance's diagnostics")
        )
    findings += _readiness(portal, own, trial)
    if not findings and trial is not None:
        findings += [found for found in [_delivery(portal, own, trial)] if found]
    if findings:
        return Verdict(findings[0], evidence, tuple(findings[1:]))
    assert trial is not None  # no request path finding means a live trial
    return Verdict(_healthy(portal, own, trial), evidence, healthy=True)


def _other_subscription(portal: PortalEvidence, instance: InstanceEvidence) -> Finding:
    asked, runs = portal.subscription_name, instance.subscription_name
    if not portal.found:
        bound = f"portal: no subscription is named {asked}"
    elif portal.activated_instance:
        bound = f"portal: {asked} is bound to instance {portal.activated_instance}"
    else:
        bound = f"portal: no instance has activated {asked}"
    return Finding(
        "other_subscription",
        f"This instance runs subscription {runs}, not {asked}: what it shows (license, sync, "
        f"GitLab Duo, seats) is about {runs}",
        "R8",
        f"Confirm which subscription the customer means. For {asked}: activate the instance "
        f"that should run it with {asked}'s cloud activation code (Admin → Subscription), or "
        f"run the doctor with that instance's diagnostics; for {runs}: "
        f"`provlab doctor trial --subscription {runs}`.",
        (
            f"instance{who(instance)}: {instance.license_type} license for {runs}",
            bound,
        ),
    )


def _readiness(
    portal: PortalEvidence, instance: InstanceEvidence | None, trial: TrialEvidence | None
) -> list[Finding]:
    """Step 5 and a failing sync: each blocks the trial whatever the request's state."""
    findings: list[Finding] = []
    license_type = instance.license_type if instance else portal.license_type
    source = f"instance{who(instance)}" if instance else "portal"
    if offline := offline_license(license_type, source, portal.subscription_name):
        findings.append(offline)
    elif instance is not None and instance.license_type is None:
        findings.append(no_license(instance, ACTIVATE_THIS_INSTANCE))
    elif instance is None and portal.activated_instance is None:
        findings.append(never_activated(portal.subscription_name))
    # A failing sync is its own blocker unless the license already explains it.
    licensed = not findings
    findings += _version_findings(portal, instance, _tier(portal, trial))
    if (
        licensed
        and instance is not None
        and instance.last_sync_error
        and not _delivered(instance, trial)
    ):
        findings += sync_failing(
            instance, "the trial has not reached it" if trial else "no trial could reach it"
        )
    return findings


def _version_findings(
    portal: PortalEvidence, instance: InstanceEvidence | None, tier: AddOnTier
) -> list[Finding]:
    """R17 on the version the instance runs, as each party knows it; a disagreement is a finding."""
    reported = portal.reported_version
    reported_at = portal.last_sync_at or portal.activated_at
    portal_fact = (
        f"portal: the instance reported GitLab {reported} at {format_utc(reported_at)}"
        if reported and reported_at
        else None
    )
    facts: list[str] = []
    disagreement: Finding | None = None
    version = instance.gitlab_version if instance else None
    if instance is not None and version:
        facts.append(f"instance{who(instance)}: GitLab {version} ({version_origin(instance)})")
    newer_than_portal = instance is not None and (
        instance.version_source == RUNNING
        or (
            instance.version_source == LAST_SYNC_ATTEMPT
            and instance.version_at is not None
            and (reported_at is None or instance.version_at > reported_at)
        )
    )
    if version and reported and version != reported and portal_fact:
        facts.append(portal_fact)
        if not newer_than_portal:
            disagreement = Finding(
                "versions_disagree",
                f"The instance's diagnostics say GitLab {version}, but the instance reported "
                f"GitLab {reported} to the portal: the doctor goes by the portal's",
                "R17",
                REEXPORT,
                tuple(facts),
            )
            version = reported
    elif portal_fact:
        facts.append(portal_fact)  # the portal's word agrees, or is all there is
        version = version or reported
    too_old = version_too_old(version, tier, facts)
    return [finding for finding in (too_old, disagreement) if finding]


def _delivery(
    portal: PortalEvidence, instance: InstanceEvidence | None, trial: TrialEvidence
) -> Finding | None:
    """Steps 6-7, once nothing earlier blocks: the trial reached the instance, seats assigned."""
    on_portal = f"portal: {trial_fact(trial)}"
    if instance is None:
        last_sync = portal.last_sync_at or portal.activated_at
        sync_fact = f"portal: last sync seen {format_utc(last_sync)}" if last_sync else ""
        next_sync = None
    else:
        last_sync, next_sync = instance.last_sync_at, instance.next_sync_at
        sync_fact = f"instance: last sync {format_utc(last_sync)}" if last_sync else ""
    sync_fact = sync_fact or f"{'instance' if instance else 'portal'}: no sync since activation"
    if last_sync is None or last_sync < _changed_at(trial):
        when = f" (next at {format_utc(next_sync)})" if next_sync else ""
        return Finding(
            "not_yet_synced",
            (
                f"Sales extended the trial to {trial.ends_on} after the instance's last sync: "
                "the extension reaches the instance with its next sync"
                if trial.extended_at and last_sync is not None and last_sync >= trial.created_at
                else "The trial exists but the instance has not synced since it was created: "
                "trials reach instances through the daily sync, up to 24 hours later"
            ),
            "R13",
            f"Wait for the daily sync{when}, or select Synchronize subscription in Admin → Subscription.",
            (on_portal, sync_fact),
        )
    if instance is None:
        return None
    if instance.duo_tier is None:
        return Finding(
            "not_yet_synced",
            "The instance synced but knows no GitLab Duo add-on yet",
            "R15",
            "Select Synchronize subscription in Admin → Subscription; the GitLab Duo menu appears "
            "once the trial is known.",
            (on_portal, sync_fact, "instance: no GitLab Duo add-on"),
        )
    on_instance = f"instance: {add_on_fact(instance)}"
    if instance.duo_tier != trial.tier:
        return Finding(
            "add_on_differs",
            f"The instance knows {instance.duo_tier}, but the portal's trial is {trial.tier}",
            "R13",
            "Select Synchronize subscription in Admin → Subscription so the instance receives the "
            "current license.",
            (on_portal, on_instance),
        )
    ends_on = instance.duo_ends_on
    if ends_on is not None and ends_on < trial.ends_on and ends_on <= instance.now.date():
        return Finding(
            "not_yet_synced",
            f"The instance's {instance.duo_tier} trial ended on {ends_on}, but the portal's runs "
            f"to {trial.ends_on}: the instance has not received the change yet",
            "R13",
            "Select Synchronize subscription in Admin → Subscription.",
            (on_portal, sync_fact, f"{on_instance}, ended {ends_on}"),
        )
    if instance.assigned_seats == 0:
        return Finding(
            "no_seats_assigned",
            "The trial reached the instance, but no seats are assigned: users get GitLab Duo "
            "only through a seat",
            "R24",
            "Assign seats to billable users in Admin → GitLab Duo.",
            (on_portal, on_instance),
        )
    return None


def _healthy(
    portal: PortalEvidence, instance: InstanceEvidence | None, trial: TrialEvidence
) -> Finding:
    facts = [f"portal: {trial_fact(trial)}"]
    if instance is not None:
        facts.append(
            f"instance{who(instance)}: licensed for {instance.subscription_name}, {add_on_fact(instance)}"
        )
        headline = (
            f"The trial is active on the instance running {portal.subscription_name}, and "
            f"{instance.assigned_seats} seats are assigned"
        )
    else:
        synced_at = portal.last_sync_at or portal.activated_at
        assert synced_at is not None  # else _delivery found the trial not yet synced
        facts.append(
            f"portal: the instance synced at {format_utc(synced_at)}, after the trial was created"
        )
        headline = (
            "The trial is active and has reached the instance (seats not checked: no "
            "instance diagnostics)"
        )
    return Finding("trial_active", headline, None, "Nothing to fix.", tuple(facts))


def _delivered(instance: InstanceEvidence, trial: TrialEvidence | None) -> bool:
    """The trial is on the instance already: a later sync failure does not keep it away."""
    return (
        trial is not None
        and instance.duo_tier == trial.tier
        and instance.last_sync_at is not None
        and instance.last_sync_at >= _changed_at(trial)
    )


def _changed_at(trial: TrialEvidence) -> dt.datetime:
    """When the portal last changed the trial: created, or extended by sales (R23)."""
    return max(trial.created_at, trial.extended_at or trial.created_at)


def _tier(portal: PortalEvidence, trial: TrialEvidence | None) -> AddOnTier:
    """The add-on the customer is after: the trial's, else the request's, else Duo Pro."""
    wanted = trial.tier if trial else (portal.leads[-1].add_on if portal.leads else None)
    try:
        return AddOnTier(wanted or AddOnTier.DUO_PRO)
    except ValueError:
        return AddOnTier.DUO_PRO


def _latest_trial(portal: PortalEvidence) -> TrialEvidence | None:
    return max(portal.trials, key=lambda t: t.created_at) if portal.trials else None
