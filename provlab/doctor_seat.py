"""``provlab doctor seat``: why can't this user use GitLab Duo?

The diagnosis walks what Code Suggestions checks for a user, in order:

  1. the instance holds a cloud license (R8), online, not offline or legacy (R10), bound to it;
  2. it knows a GitLab Duo purchase or trial — it synced since the portal recorded one (R13),
     and its sync works (R16);
  3. the add-on is in force: not a trial that ended (R23) nor a purchase that expired (R1);
  4. the instance runs a GitLab version the add-on supports (R17);
  5. the user exists and is active: not blocked, banned or deactivated (R29);
  6. the user is billable: not one of GitLab's own bots, not a Guest on Ultimate (R30, R2);
  7. the user holds a seat (R1), and if not, whether one is free (R26, R5).

Every blocker is named: the first on the path is the verdict, the others "also". A seat held by a
user who is no longer eligible (blocked, or a Guest on Ultimate) is stated as such: the seat is
there, yet it gives no access.
"""

from __future__ import annotations

import datetime as dt

from protocol.clock import format_utc
from provlab.doctor_common import (
    SYNCHRONIZE,
    add_on_not_received,
    licensing,
    no_duo_purchase_in_force,
    version_gate,
    wanted_tier,
)
from provlab.doctor_facts import add_on_fact, add_on_label, evidence_lines
from provlab.doctor_gather import PurchaseEvidence, UserEvidence
from provlab.doctor_model import Finding, InstanceEvidence, PortalEvidence, Verdict

RETENTION_DAYS = 28  # instance.add_ons.ASSIGNMENT_RETENTION: assignments kept after expiry


def diagnose_seat(
    user: UserEvidence,
    instance: InstanceEvidence,
    portal: PortalEvidence | None,
    purchases: tuple[PurchaseEvidence, ...] = (),
) -> Verdict:
    """Walk the user's path to GitLab Duo: the first broken link is the verdict (``portal`` None:
    the instance names no subscription, so there was nothing to read there)."""
    evidence = [f"instance: {user.fact()}", *evidence_lines(portal, instance, purchases)]
    findings = licensing(portal, instance)
    findings += _add_on(instance, portal, purchases)
    if instance.duo_tier:
        findings += version_gate(portal, instance, wanted_tier(purchases, instance))
    findings += _user(user, instance)
    if findings:
        return Verdict(findings[0], evidence, tuple(findings[1:]))
    assert instance.duo_tier is not None and user.seat_assigned_at is not None
    healthy = Finding(
        "seat_active",
        f"{user.username} holds a {_label(instance)} seat on a cloud-licensed instance and can "
        "use GitLab Duo",
        None,
        "Nothing to fix.",
        (f"instance: {user.fact()}", f"instance: add-on {add_on_fact(instance)}"),
    )
    return Verdict(healthy, evidence, healthy=True)


def _add_on(
    instance: InstanceEvidence,
    portal: PortalEvidence | None,
    purchases: tuple[PurchaseEvidence, ...],
) -> list[Finding]:
    """Steps 2-3: the instance knows an add-on in force, or the portal's newer one is on its way."""
    today = instance.now.date()
    if instance.duo_tier is not None and _ends(instance) > today:
        return []
    not_received = add_on_not_received(
        purchases,
        portal,
        instance,
        today=today,
        rule="R13",
        cannot_reach="the GitLab Duo add-on cannot reach it",
        sync_first=False,
    )
    if not_received:
        return not_received
    if instance.duo_tier is None:
        return [
            no_duo_purchase_in_force(
                purchases,
                portal,
                rule="R1",
                none_headline="No GitLab Duo purchase or trial exists for this instance: "
                "GitLab Duo is used only through a seat of one",
                ended_headline="Every GitLab Duo purchase and trial of the subscription has "
                "ended: GitLab Duo is used only through a seat of one",
                action="Buy GitLab Duo Pro seats on the subscription card in the Customers "
                "Portal, or request a GitLab Duo trial; then " + SYNCHRONIZE + ".",
                facts=("instance: no GitLab Duo add-on",),
            )
        ]
    label = _label(instance)
    on_instance = f"instance: add-on {add_on_fact(instance)}, ended {_ends(instance)}"
    if instance.duo_trial:
        return [
            Finding(
                "trial_ended",
                f"The {label} trial ended on {_ends(instance)}",
                "R23",
                "Support cannot extend GitLab Duo trials; sales can extend one as a $0 order on "
                "the subscription, or the customer buys seats.",
                (on_instance,),
            )
        ]
    return [
        Finding(
            "add_on_expired",
            f"The {label} purchase expired on {_ends(instance)}: its seats give no access",
            "R1",
            f"Renew the add-on; seat assignments are kept {RETENTION_DAYS} days after it "
            "expires and count again if it is renewed in that window. Then " + SYNCHRONIZE + ".",
            (on_instance,),
        )
    ]


def _user(user: UserEvidence, instance: InstanceEvidence) -> list[Finding]:
    """Steps 5-7: the user is active, billable, and holds a seat."""
    on_instance = f"instance: {user.fact()}"
    if not user.found:
        return [
            Finding(
                "unknown_user",
                f"No user named {user.username} exists on this instance",
                None,
                "Check the username in Admin → Users (usernames, not display names).",
                (on_instance,),
            )
        ]
    held = (
        f" The seat assigned {format_utc(user.seat_assigned_at)} is still held but gives no access."
        if user.seat_assigned_at
        else ""
    )
    findings = []
    if user.state != "active":
        findings.append(
            Finding(
                "user_not_active",
                f"{user.username} is {user.state}: only active users use GitLab Duo, and the "
                f"seats of blocked, banned and deactivated users are freed by a clean-up job.{held}",
                "R29",
                f"Unblock or reactivate {user.username} in Admin → Users if they should work; "
                "then assign a seat in Admin → GitLab Duo if the clean-up freed it.",
                (on_instance,),
            )
        )
    elif user.internal_bot:
        findings.append(
            Finding(
                "not_billable",
                f"{user.username} is one of GitLab's own bots ({user.bot_type}): never billable, "
                f"so never eligible for a seat.{held}",
                "R30",
                "Nothing to do for this account: only billable users can hold GitLab Duo seats (R2).",
                (on_instance,),
            )
        )
    elif not user.billable and user.plan == "ultimate" and user.highest_role == "Guest":
        findings.append(
            Finding(
                "guest_on_ultimate",
                f"{user.username}'s highest role is Guest: on Ultimate, Guests are not billable, "
                f"so not eligible for a GitLab Duo seat.{held}",
                "R30",
                f"Give {user.username} a role above Guest (Reporter or more) in a group or "
                "project, then assign a seat in Admin → GitLab Duo (R2).",
                (on_instance,),
            )
        )
    elif not user.billable:
        findings.append(
            Finding(
                "not_billable",
                f"{user.username} is not a billable user, so not eligible for a seat.{held}",
                "R30",
                "Only billable users can hold GitLab Duo seats (R2).",
                (on_instance,),
            )
        )
    if findings or user.seat_assigned_at is not None:
        return findings
    facts = [on_instance]
    full = instance.duo_tier is not None and instance.assigned_seats >= instance.duo_quantity
    if instance.duo_tier is not None:
        facts.append(f"instance: add-on {add_on_fact(instance)}")
    return [
        Finding(
            "no_seat",
            f"{user.username} has no GitLab Duo seat: the add-on's features are given only "
            "through an assigned seat" + (", and every seat is taken" if full else ""),
            "R1",
            "Free a seat (remove another user's in Admin → GitLab Duo) or add seats to the "
            "add-on on the subscription card (R5), then assign one."
            if full
            else f"Assign {user.username} a seat in Admin → GitLab Duo (R26).",
            tuple(facts),
        )
    ]


def _ends(instance: InstanceEvidence) -> dt.date:
    assert instance.duo_ends_on is not None  # a known add-on has an end date
    return instance.duo_ends_on


def _label(instance: InstanceEvidence) -> str:
    return add_on_label(str(instance.duo_tier))
