"""``provlab doctor activation``: why does activating this instance fail?

The diagnosis walks the checks an activation meets, in the order they are met, and says for each
broken one what the instance's administrator saw (the real product's message, from the instance's
own table of them):

  1. the code is well formed: 24 letters and digits — checked by the instance's form (R8);
  2. the portal knows the code (or, asked by subscription, the subscription has one) (R8);
  3. the subscription is active, not expired (R8);
  4. it is cloud-compatible: paid, not a legacy-only trial or community program (R9), not on an
     offline or legacy license (R10);
  5. the code is not bound to another instance (R8: a second instance is refused);
  6. the instance's requests reach the portal: its clock within the portal's freshness window
     (a stale request is refused), and a connection that gets through, proxy included (R16).

Steps 1-5 are the portal's word. Step 6 needs the instance's diagnostics: the portal records an
activation only when it succeeds, so an instance the portal has never heard of, with nothing on
the portal's side to refuse it, did not get through — a clock far off if the live instance shows
it, else its connection. Every blocker is named, the first on the path as the verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Flask

from instance.portal_client import ACTIVATION_CONNECTIVITY, ADMIN_MESSAGES
from protocol.activation_code import (
    ACTIVATION_CODE_FORMAT_ERROR,
    ACTIVATION_CODE_LENGTH,
    validate_activation_code,
)
from protocol.clock import format_utc
from protocol.errors import LocalProtocolError
from protocol.messages import ErrorCode
from provlab.doctor_common import (
    ACTIVATE,
    license_label,
    never_syncs,
    subscription_not_found,
    sync_failing,
)
from provlab.doctor_evidence import portal_evidence
from provlab.doctor_facts import evidence_lines, who
from provlab.doctor_gather import (
    CodeEvidence,
    bound_subscription,
    code_evidence,
    shown_code,
    subscription_code,
)
from provlab.doctor_model import Finding, InstanceEvidence, PortalEvidence, Verdict

COPY_AGAIN = (
    "Copy the activation code again from the subscription card in the Customers Portal, in "
    "full, and paste it into Admin → Subscription."
)


@dataclass(frozen=True)
class ActivationCase:
    """What the portal says about the code or subscription asked about."""

    asked: str  # "code …Ab12" or "subscription A-S…", for the facts
    code: CodeEvidence | None  # the code's holder; asked by subscription: its code, if any
    portal: PortalEvidence | None  # the subscription in question; None: none found
    well_formed: bool = True
    code_length: int = ACTIVATION_CODE_LENGTH  # without surrounding spaces
    alphanumeric: bool = True  # only A-Z, a-z, 0-9
    instance_bound_to: str | None = None  # the subscription the portal binds the instance to
    live: bool = False  # the instance's evidence was read now, so its clock can be compared
    window: dt.timedelta = dt.timedelta(minutes=5)  # the portal's freshness window


def diagnose_activation(case: ActivationCase, instance: InstanceEvidence | None) -> Verdict:
    """Walk the activation's checks: the first one broken is the verdict."""
    portal = case.portal
    evidence = evidence_lines(portal, instance)
    if case.code is not None:
        holder = case.code.subscription_name or "no subscription"
        evidence.insert(0, f"portal: the activation code {case.code.shown} belongs to {holder}")
    findings = _code(case)
    if portal is not None and portal.found and not findings:
        findings += _subscription(portal)
        findings += _binding(case, portal, instance)
    if portal is not None and portal.found and _activated_here(portal, instance):
        findings += sync_failing(instance, "nothing new reaches it since its activation")
    else:
        findings += _getting_through(case, instance, blocked=bool(findings))
    if findings:
        return Verdict(findings[0], evidence, tuple(findings[1:]))
    return Verdict(_fine(case, portal, instance), evidence, healthy=True)


def _code(case: ActivationCase) -> list[Finding]:
    """Steps 1-2."""
    if not case.well_formed:
        return [
            Finding(
                "malformed_code",
                f"The activation code is not well formed: {ACTIVATION_CODE_FORMAT_ERROR}",
                "R8",
                COPY_AGAIN,
                (
                    f"the code given ({case.asked.removeprefix('code ')}) has {case.code_length} "
                    f"characters{'' if case.code_length == ACTIVATION_CODE_LENGTH else f', not {ACTIVATION_CODE_LENGTH}'}"
                    + ("" if case.alphanumeric else ", some of them not A-Z, a-z or 0-9"),
                    f"instance: the form shows: {ACTIVATION_CODE_FORMAT_ERROR}",
                ),
            )
        ]
    portal = case.portal
    if portal is not None and not portal.found:
        return [subscription_not_found(portal, "run the doctor with --code")]
    if case.code is not None and case.code.subscription_name is None:
        return [
            Finding(
                "unknown_code",
                f"No subscription holds the activation code {case.code.shown}: the portal "
                "refuses it",
                "R8",
                COPY_AGAIN + " A code generated again replaces the old one.",
                (
                    f"portal: no subscription holds the activation code {case.code.shown}",
                    f"instance: shows: {ADMIN_MESSAGES[ErrorCode.INVALID_ACTIVATION_CODE]}",
                ),
            )
        ]
    if case.code is None and portal is not None and portal.kind == "paid":
        # An offline or legacy subscription has no code until one is generated, which moves it
        # to cloud licensing (R10's fix).
        offline = never_syncs(portal.license_type)
        return [
            Finding(
                "no_activation_code",
                f"{portal.subscription_name} has no activation code yet"
                + (f": it is on {portal.license_type} licensing" if offline else ""),
                "R10" if offline else "R8",
                ACTIVATE,
                (f"portal: no activation code was generated for {portal.subscription_name}",)
                + ((_license_fact(portal),) if offline else ()),
            )
        ]
    return []


def _subscription(portal: PortalEvidence) -> list[Finding]:
    """Steps 3-4: the portal refuses an expired or not cloud-compatible subscription."""
    name = portal.subscription_name
    findings = []
    if portal.ends_on is not None and portal.now.date() >= portal.ends_on:
        findings.append(
            Finding(
                "subscription_expired",
                f"Subscription {name} has expired: the portal refuses to activate it",
                "R8",
                "Renew the subscription in the Customers Portal (or through sales), then "
                "activate again.",
                (
                    f"portal: {name} ended on {portal.ends_on}; today is {portal.now.date()}",
                    f"instance: shows: {ADMIN_MESSAGES[ErrorCode.SUBSCRIPTION_EXPIRED]}",
                ),
            )
        )
    shows = f"instance: shows: {ADMIN_MESSAGES[ErrorCode.SUBSCRIPTION_NOT_CLOUD_COMPATIBLE]}"
    if portal.kind != "paid":
        findings.append(
            Finding(
                "not_cloud_compatible",
                f"Subscription {name} is a {portal.kind} subscription: those are issued legacy "
                "licenses only, never activated with a code",
                "R9",
                "Upload the subscription's license file in Admin → Subscription instead (GitLab "
                "Duo needs a paid subscription on a cloud license).",
                (f"portal: {name} is {portal.kind}, {portal.license_type} license", shows),
            )
        )
    elif never_syncs(portal.license_type):
        findings.append(
            Finding(
                "not_cloud_compatible",
                f"Subscription {name} is on {license_label(portal.license_type)} license: the "
                "portal refuses to activate it online",
                "R10",
                "Generate the cloud activation code again on the subscription card (it moves the "
                "subscription to cloud licensing), then activate with it.",
                (_license_fact(portal), shows),
            )
        )
    return findings


def _binding(
    case: ActivationCase, portal: PortalEvidence, instance: InstanceEvidence | None
) -> list[Finding]:
    """Step 5: a code bound to another instance is refused."""
    bound = portal.activated_instance
    if bound is None or (instance is not None and instance.instance_id == bound):
        return []
    at = f" at {format_utc(portal.activated_at)}" if portal.activated_at else ""
    facts = [f"portal: {portal.subscription_name} is bound to instance {bound}{at}"]
    if instance is not None:
        facts.append(f"instance{who(instance)}: this is another instance")
    facts.append(f"instance: shows: {ADMIN_MESSAGES[ErrorCode.ACTIVATION_CODE_IN_USE]}")
    return [
        Finding(
            "code_in_use",
            f"The activation code is already bound to instance {bound}"
            + ("" if instance else " (the failing one, if its id differs)")
            + ": a second instance is refused",
            "R8",
            "If this instance replaces the other, generate a new activation code on the "
            "subscription card (the old one stops working), then activate with it; otherwise "
            "use the other subscription's code.",
            tuple(facts),
        )
    ]


def _getting_through(
    case: ActivationCase, instance: InstanceEvidence | None, *, blocked: bool
) -> list[Finding]:
    """Step 6: the instance's requests reach the portal in time."""
    if instance is None:
        return []
    findings = []
    skew = instance.now - (case.portal.now if case.portal else instance.now)
    if case.live and abs(skew) > case.window:
        findings.append(
            Finding(
                "clock_skew",
                f"The instance's clock is {_span(skew)} {'ahead of' if skew > dt.timedelta() else 'behind'} "
                f"the portal's, beyond the {_span(case.window)} a signed request may be off: "
                "the portal refuses its requests as stale",
                "R16",
                "Set the instance's clock right (NTP), then activate again.",
                (
                    f"instance{who(instance)}: its clock reads {format_utc(instance.now)}",
                    f"portal: its clock reads {format_utc(case.portal.now)}"
                    if case.portal
                    else "portal: clock unread",
                    f"instance: shows: {ADMIN_MESSAGES[ErrorCode.STALE_REQUEST]}",
                ),
            )
        )
    if findings or blocked or case.instance_bound_to is not None:
        return findings
    facts = [f"portal: no request of instance {instance.instance_id} ever got through"]
    if instance.proxy:
        facts.append(f"instance: proxy in use: {instance.proxy}")
    if instance.last_sync_error:
        facts.append(f"instance: last error: {instance.last_sync_error}")
    facts.append(f"instance: shows: {ACTIVATION_CONNECTIVITY}")
    return [
        Finding(
            "connectivity",
            "Nothing on the portal's side refuses this activation, and the portal has never "
            "heard from this instance: its request does not get through",
            "R16",
            "Fix the instance's outbound connection to the portal (firewall, the proxy in "
            "HTTP_PROXY, HTTPS_PROXY and NO_PROXY), then activate again.",
            tuple(facts),
        )
    ]


def _license_fact(portal: PortalEvidence) -> str:
    return f"portal: {portal.subscription_name} is on a license of type {portal.license_type}"


def _activated_here(portal: PortalEvidence, instance: InstanceEvidence | None) -> bool:
    return (
        instance is not None
        and instance.instance_id is not None
        and portal.activated_instance == instance.instance_id
        and instance.subscription_name == portal.subscription_name
        and instance.license_type == "online_cloud"
    )


def _fine(
    case: ActivationCase, portal: PortalEvidence | None, instance: InstanceEvidence | None
) -> Finding:
    assert portal is not None  # no portal evidence is always a finding
    name = portal.subscription_name
    if instance is not None and _activated_here(portal, instance):
        return Finding(
            "activated",
            f"The instance is activated with {name}: it holds its online license and the "
            "portal has the code bound to it",
            None,
            "Nothing to fix.",
            (
                f"instance{who(instance)}: online_cloud license for {name}",
                f"portal: {name} is bound to instance {instance.instance_id}",
            ),
        )
    facts = [f"portal: {name} is active until {portal.ends_on}, paid, online_cloud license"]
    if portal.activated_instance:
        facts.append(f"portal: {name} is bound to instance {portal.activated_instance}")
    if instance is not None and case.instance_bound_to:
        facts.append(
            f"portal: instance {instance.instance_id} is bound to {case.instance_bound_to}: "
            "its requests get through"
        )
    return Finding(
        "portal_accepts",
        "Nothing on the portal's side refuses this activation"
        + (
            "" if instance else " (the instance's connection and clock not checked: no diagnostics)"
        ),
        None,
        "Activate in Admin → Subscription; if it fails, export the instance's diagnostics bundle "
        "right after and run the doctor with --bundle.",
        tuple(facts),
    )


def activation_case(
    portal_app: Flask,
    code: str | None,
    subscription_name: str | None,
    instance: InstanceEvidence | None,
    *,
    live: bool,
) -> ActivationCase:
    """Gather what the portal says about the code or the subscription (call outside an app
    context); ``live``: the instance's evidence was read from it just now."""
    window = dt.timedelta(seconds=int(portal_app.config.get("FRESHNESS_WINDOW_SECONDS", 300)))
    bound_to = (
        bound_subscription(portal_app, instance.instance_id)
        if instance is not None and instance.instance_id
        else None
    )
    common: dict[str, Any] = {"instance_bound_to": bound_to, "live": live, "window": window}
    if code is not None:
        try:
            validate_activation_code(code)
        except LocalProtocolError:
            return ActivationCase(
                f"code {shown_code(code)}",
                None,
                None,
                well_formed=False,
                code_length=len(code.strip()),
                alphanumeric=all(c.isascii() and c.isalnum() for c in code.strip()),
                **common,
            )
        held = code_evidence(portal_app, code)
        portal = (
            portal_evidence(portal_app, held.subscription_name) if held.subscription_name else None
        )
        return ActivationCase(f"code {held.shown}", held, portal, **common)
    assert subscription_name is not None
    portal = portal_evidence(portal_app, subscription_name)
    return ActivationCase(
        f"subscription {portal.subscription_name}",
        subscription_code(portal_app, subscription_name),
        portal,
        **common,
    )


def _span(delta: dt.timedelta) -> str:
    seconds = int(abs(delta).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if seconds else "",
    ]
    return "".join(parts) or "0s"
