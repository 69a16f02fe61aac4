"""``provlab doctor menu``: the GitLab Duo menu is missing after a purchase — why?

The instance shows Admin → GitLab Duo once it knows of a Duo purchase or trial (R15), and it
learns of one only through its sync (R13). The diagnosis walks that path, in order:

  1. the portal has a GitLab Duo purchase or trial for the subscription (R15);
  2. the instance is the one licensed for this subscription, with a cloud license (R8, R10) —
     an offline or legacy license never syncs;
  3. it runs a GitLab version the add-on supports (R17);
  4. its sync works (R16), and it synced since the portal recorded the purchase (R15, R13);
  5. having synced, it knows the add-on — if the portal has one and the instance, synced after
     it, does not, the two parties contradict each other, and that is the finding.

The first blocker on the path is the verdict, every other one "also".
"""

from __future__ import annotations

from provlab.doctor_common import (
    SYNCHRONIZE,
    add_on_not_received,
    last_sync,
    licensing,
    no_duo_purchase_in_force,
    subscription_not_found,
    version_gate,
    wanted_tier,
)
from provlab.doctor_facts import add_on_fact, add_on_label, evidence_lines
from provlab.doctor_gather import PurchaseEvidence
from provlab.doctor_model import Finding, InstanceEvidence, PortalEvidence, Verdict


def diagnose_menu(
    portal: PortalEvidence,
    instance: InstanceEvidence | None,
    purchases: tuple[PurchaseEvidence, ...],
) -> Verdict:
    """Why the GitLab Duo menu is missing: the first broken link is the verdict."""
    evidence = evidence_lines(portal, instance, purchases)
    if instance is not None:
        evidence.append(
            "instance: GitLab Duo menu "
            + ("shown" if instance.duo_tier else "not shown: no GitLab Duo add-on known")
        )
    if not portal.found:
        return Verdict(
            subscription_not_found(portal, "leave --subscription out to take the instance's own"),
            evidence,
        )
    live = tuple(p for p in purchases if p.ends_on > portal.now.date())
    findings: list[Finding] = []
    if not live:
        findings.append(
            no_duo_purchase_in_force(
                purchases,
                portal,
                rule="R15",
                none_headline="The portal has no GitLab Duo purchase or trial for this "
                "subscription: the GitLab Duo menu appears only once the instance knows of one",
                ended_headline="Every GitLab Duo purchase and trial of the subscription has "
                "ended: the licenses list none, so the instance has no GitLab Duo add-on to show",
                action="Buy GitLab Duo Pro seats on the subscription card in the Customers Portal "
                "(or through sales), or request a GitLab Duo trial; then " + SYNCHRONIZE + ".",
            )
        )
    licensed = licensing(portal, instance)
    findings += licensed
    findings += version_gate(portal, instance, wanted_tier(live or purchases, instance))
    if not licensed and (instance is None or instance.duo_tier is None):
        findings += add_on_not_received(
            live,
            portal,
            instance,
            today=portal.now.date(),
            rule="R15",
            cannot_reach="the purchase cannot reach it",
            sync_first=True,
        )
    if findings:
        return Verdict(findings[0], evidence, tuple(findings[1:]))
    return Verdict(_shown(portal, instance, live), evidence, healthy=True)


def _shown(
    portal: PortalEvidence, instance: InstanceEvidence | None, live: tuple[PurchaseEvidence, ...]
) -> Finding:
    newest = max(live, key=lambda p: p.created_at)
    if instance is not None:
        label = add_on_label(instance.duo_tier) if instance.duo_tier else "GitLab Duo"
        return Finding(
            "menu_shown",
            f"The instance knows {label}, so Admin → GitLab Duo is shown",
            None,
            "Nothing to fix.",
            (f"portal: {newest.fact()}", f"instance: add-on {add_on_fact(instance)}"),
        )
    _, synced = last_sync(portal, None)
    return Finding(
        "menu_shown",
        "The instance synced after the portal recorded the GitLab Duo purchase, so it knows the "
        "add-on and shows Admin → GitLab Duo (not checked on the instance: no diagnostics)",
        None,
        "Nothing to fix.",
        (f"portal: {newest.fact()}", synced),
    )
