"""Findings the seat, activation and menu doctors share: whether the instance is licensed for the
subscription and can use GitLab Duo at all (R8, R10), its version (R17), its sync (R13, R16), and
whether a GitLab Duo purchase or trial is in force (R1, R15) and has reached the instance (R13).

Each takes the parties' evidence and returns findings stating the facts they rest on, each fact
naming its party, in the words of ``doctor trial`` (its causes keep their names here).
"""

from __future__ import annotations

import datetime as dt
from typing import TypeGuard

from instance.add_ons import DEGRADED_BELOW
from protocol.clock import format_utc
from protocol.license import AddOnTier
from protocol.versions import GitLabVersion
from provlab.doctor_facts import version_origin, who
from provlab.doctor_gather import PurchaseEvidence
from provlab.doctor_model import UNSTATED, Finding, InstanceEvidence, PortalEvidence

SYNCHRONIZE = "select Synchronize subscription in Admin → Subscription (R14)"
ACTIVATE = (
    "Generate the cloud activation code on the subscription card in the Customers Portal and "
    "activate the instance with it (Admin → Subscription)."
)


def subscription_not_found(portal: PortalEvidence, otherwise: str) -> Finding:
    """No subscription has the name asked about (no rule broken: a name mistyped or misread);
    ``otherwise``: the command's other way to the subscription."""
    name = portal.subscription_name
    return Finding(
        "unknown_subscription",
        f"No subscription named {name} exists in the portal",
        None,
        "Ask the customer for the subscription name shown as a badge on the subscription page, "
        f"or {otherwise}.",
        (f"portal: no subscription is named {name}",),
    )


def licensing(portal: PortalEvidence | None, instance: InstanceEvidence | None) -> list[Finding]:
    """R8, R10: the instance holds a cloud license for this subscription, bound to it."""
    name = portal.subscription_name if portal else None
    if instance is not None and instance.license_type is None:
        return [no_license(instance)]
    license_type = instance.license_type if instance else (portal.license_type if portal else None)
    source = f"instance{who(instance)}" if instance else "portal"
    findings: list[Finding] = []
    if instance is not None and name and instance.subscription_name not in (None, name):
        findings.append(
            Finding(
                "other_subscription",
                f"This instance runs subscription {instance.subscription_name}, not {name}",
                "R8",
                f"Confirm which subscription the customer means; to run {name}, activate the "
                f"instance with {name}'s cloud activation code (Admin → Subscription).",
                (f"{source}: {instance.license_type} license for {instance.subscription_name}",),
            )
        )
        return findings
    if offline := offline_license(license_type, source, name or "the subscription"):
        findings.append(offline)
    elif instance is None and portal is not None and portal.activated_instance is None:
        findings.append(never_activated(name))
    elif (
        instance is not None
        and portal is not None
        and instance.instance_id
        and portal.activated_instance not in (None, instance.instance_id)
    ):
        findings.append(bound_to_other_instance(portal, instance))
    return findings


def bound_to_other_instance(
    portal: PortalEvidence, instance: InstanceEvidence, otherwise: str | None = None
) -> Finding:
    """R8: the instance holds the subscription's license, but the portal bound the subscription
    to another instance since; ``otherwise``: what to do if this is not the instance meant."""
    name = portal.subscription_name
    action = (
        f"If this instance should run {name}, activate it again with {name}'s cloud "
        "activation code (Admin → Subscription)"
    )
    return Finding(
        "bound_to_other_instance",
        f"This instance holds a license for {name}, but the portal has {name} bound to "
        "another instance: its syncs are refused and nothing new reaches it",
        "R8",
        f"{action}; otherwise {otherwise}." if otherwise else f"{action}.",
        (
            f"instance{who(instance)}: {instance.license_type} license for {name}",
            f"portal: {name} is bound to instance {portal.activated_instance}",
        ),
    )


def no_license(instance: InstanceEvidence, action: str = ACTIVATE) -> Finding:
    """R8, in the instance's word: it holds no license, so it was never activated."""
    return Finding(
        "not_activated",
        "The instance has no license: it was never activated",
        "R8",
        action,
        (f"instance{who(instance)}: no license installed",),
    )


def never_activated(subscription: str | None) -> Finding:
    """R8, in the portal's word: no instance has activated the subscription."""
    return Finding(
        "not_activated",
        "No instance has activated this subscription with its cloud activation code",
        "R8",
        ACTIVATE,
        (f"portal: no instance has activated {subscription}",),
    )


def never_syncs(license_type: str | None) -> TypeGuard[str]:
    """R10: an offline or legacy license never syncs with the portal."""
    return license_type in ("offline_cloud", "legacy")


def license_label(license_type: str) -> str:
    """An offline or legacy license as a headline says it ("an offline", "a legacy")."""
    return "an offline" if license_type == "offline_cloud" else "a legacy"


def offline_license(license_type: str | None, source: str, subscription: str) -> Finding | None:
    """R10: an offline or legacy license never syncs, so GitLab Duo cannot reach the instance;
    ``source`` is the party whose word the license type is."""
    if not never_syncs(license_type):
        return None
    label = license_label(license_type)
    return Finding(
        f"{license_type}_license",
        f"The instance uses {label} license: GitLab Duo needs a cloud license (online sync)",
        "R10",
        ACTIVATE,
        (f"{source}: {subscription} has {label} license ({license_type})",),
    )


def version_gate(
    portal: PortalEvidence | None, instance: InstanceEvidence | None, tier: AddOnTier
) -> list[Finding]:
    """R17 on the version the instance runs. A bundle that does not say where its version comes
    from yields to what the instance reported to the portal, and the disagreement is stated."""
    reported = portal.reported_version if portal else None
    version = instance.gitlab_version if instance else None
    facts = []
    if instance is not None and version:
        facts.append(f"instance{who(instance)}: GitLab {version} ({version_origin(instance)})")
    if reported and (version is None or reported != version):
        facts.append(f"portal: the instance reported GitLab {reported}")
        if version is None or (instance is not None and instance.version_source == UNSTATED):
            version = reported
    too_old = version_too_old(version, tier, facts)
    return [too_old] if too_old else []


def version_too_old(version: str | None, tier: AddOnTier, facts: list[str]) -> Finding | None:
    """R17: the version the doctor goes by is older than ``tier`` needs (``facts`` say whose
    word the version is)."""
    minimum = tier.minimum_gitlab_version
    if not version or GitLabVersion.parse(version) >= minimum:
        return None
    return Finding(
        "version_too_old",
        f"The instance runs GitLab {version}; {tier.label} needs {minimum} or later",
        "R17",
        f"Upgrade the instance to GitLab {minimum} or later "
        f"({DEGRADED_BELOW.major}.{DEGRADED_BELOW.minor}+ for the best experience).",
        tuple(facts),
    )


def sync_failing(instance: InstanceEvidence | None, what: str) -> list[Finding]:
    """R16: the instance's last sync failed, so ``what`` cannot reach it."""
    if instance is None or not instance.last_sync_error:
        return []
    facts = [f"instance: last sync error: {instance.last_sync_error}"]
    if instance.proxy:
        facts.append(f"instance: proxy in use: {instance.proxy}")
    facts.append(
        f"instance: last successful sync {format_utc(instance.last_sync_at)}"
        if instance.last_sync_at
        else "instance: no successful sync yet"
    )
    return [
        Finding(
            "sync_failing",
            f"The instance cannot sync with the portal, so {what}",
            "R16",
            "Fix the instance's outbound connection to the portal (firewall, HTTP proxy "
            "settings), then select Synchronize subscription in Admin → Subscription.",
            tuple(facts),
        )
    ]


def last_sync(
    portal: PortalEvidence | None, instance: InstanceEvidence | None
) -> tuple[dt.datetime | None, str]:
    """When the instance last synced, and the fact saying so (the instance's word first)."""
    if instance is not None:
        at = instance.last_sync_at
        return at, f"instance: last sync {format_utc(at)}" if at else "instance: never synced"
    at = (portal.last_sync_at or portal.activated_at) if portal else None
    return at, f"portal: last sync seen {format_utc(at)}" if at else "portal: no sync seen"


def unsynced(
    purchases: tuple[PurchaseEvidence, ...],
    portal: PortalEvidence | None,
    instance: InstanceEvidence | None,
    rule: str,
) -> Finding | None:
    """R13: the portal recorded a Duo purchase or trial after the instance's last sync."""
    live = [p for p in purchases if portal is None or p.ends_on > portal.now.date()]
    if not live:
        return None
    newest = max(live, key=lambda p: p.created_at)
    at, fact = last_sync(portal, instance)
    # A sync at the very instant of the purchase may have missed it: only a later one counts.
    if at is not None and at > newest.created_at:
        return None
    following = (
        f" (next at {format_utc(instance.next_sync_at)})"
        if instance is not None and instance.next_sync_at
        else ""
    )
    headline = (
        "The instance has never synced, so it knows no GitLab Duo purchase or trial"
        if at is None
        else "The instance has not synced since the portal recorded the GitLab Duo "
        + ("trial" if newest.trial else "purchase")
        + ": it reaches the instance through the daily sync, up to 24 hours later"
    )
    return Finding(
        "never_synced" if at is None else "not_synced_since_purchase",
        headline,
        rule,
        f"Wait for the daily sync{following}, or {SYNCHRONIZE}.",
        (f"portal: {newest.fact()}", fact),
    )


def wanted_tier(
    purchases: tuple[PurchaseEvidence, ...], instance: InstanceEvidence | None
) -> AddOnTier:
    """The add-on in question: the instance's, else the portal's newest, else Duo Pro."""
    tier = instance.duo_tier if instance and instance.duo_tier else None
    if tier is None and purchases:
        tier = purchases[-1].tier
    try:
        return AddOnTier(tier or AddOnTier.DUO_PRO.value)
    except ValueError:
        return AddOnTier.DUO_PRO


def synced_without_add_on(
    purchases: tuple[PurchaseEvidence, ...],
    portal: PortalEvidence | None,
    instance: InstanceEvidence,
) -> Finding:
    """The portal has a Duo purchase in force, the instance synced after it, yet knows none: the
    parties contradict each other (R13), and the doctor says so rather than pick one."""
    newest = max(purchases, key=lambda p: p.created_at)
    _, synced = last_sync(portal, instance)
    return Finding(
        "synced_without_add_on",
        "The instance synced after the portal recorded the GitLab Duo "
        + ("trial" if newest.trial else "purchase")
        + ", yet knows no GitLab Duo add-on: the two parties disagree",
        "R13",
        "Select Synchronize subscription in Admin → Subscription once more; if the add-on is "
        "still missing, export the diagnostics bundle right after and escalate with it.",
        (f"portal: {newest.fact()}", synced, "instance: no GitLab Duo add-on"),
    )


def add_on_not_received(
    purchases: tuple[PurchaseEvidence, ...],
    portal: PortalEvidence | None,
    instance: InstanceEvidence | None,
    *,
    today: dt.date,
    rule: str,
    cannot_reach: str,
    sync_first: bool,
) -> list[Finding]:
    """Why the portal's GitLab Duo purchase or trial has not reached the instance: it has not
    synced since the portal recorded one (``rule``: R13 for a seat, R15 for the menu), and a
    failing sync (R16) says ``cannot_reach``, named before that finding or after it as the
    command's path walks them (``sync_first``); or it synced after one still in force on
    ``today`` (the command's clock) yet knows none, and the parties contradict each other (R13).
    Nothing when neither holds."""
    behind = unsynced(purchases, portal, instance, rule)
    if behind is not None:
        failing = sync_failing(instance, cannot_reach)
        return [*failing, behind] if sync_first else [behind, *failing]
    live = tuple(p for p in purchases if p.ends_on > today)
    if instance is not None and instance.duo_tier is None and live:
        return [synced_without_add_on(live, portal, instance)]
    return []


def no_duo_purchase_in_force(
    purchases: tuple[PurchaseEvidence, ...],
    portal: PortalEvidence | None,
    *,
    rule: str,
    none_headline: str,
    ended_headline: str,
    action: str,
    facts: tuple[str, ...] = (),
) -> Finding:
    """No GitLab Duo purchase or trial is in force (``rule``: what the command needs one for, R15
    for the menu, R1 for a seat): the portal never had one (``no_duo_purchase``), or every one
    has ended (``duo_ended``). Its facts, after ``facts``: each purchase and trial the portal has,
    or that it has none (nothing when the portal was not read)."""
    if portal is not None:
        facts += tuple(f"portal: {p.fact()}" for p in purchases) or (
            f"portal: no GitLab Duo purchase or trial for {portal.subscription_name}",
        )
    return Finding(
        "duo_ended" if purchases else "no_duo_purchase",
        ended_headline if purchases else none_headline,
        rule,
        action,
        facts,
    )
