"""`provlab doctor trial --namespace GROUP`: why didn't a GitLab.com group's GitLab Duo Pro trial
start? (R25, seeds/000 "Start GitLab Duo Pro trial / On GitLab.com".)

The path, as the real product walks it when an owner selects *Activate my trial*: the group
exists and is a top-level group; the requester owns it; a subscription is linked to it in the
Customers Portal and its push landed on GitLab.com (no refusal, no failing job); the plan is an
active paid Premium or Ultimate, or an Ultimate trial (one that ended leaves the group on Free:
"the group's Ultimate trial ended"); the group has no GitLab Duo add-on and never had a Duo
trial. A trial the portal created and GitLab.com holds, in force today, is the
healthy answer. Every blocker found is reported (the first as the verdict, the others as
"also"); each fact names the party it comes from ("portal: …", "gitlab.com: …").
"""

from __future__ import annotations

import datetime as dt

from instance.gitlab_com.trials import ALREADY, NOT_ELIGIBLE, NOT_OWNER
from portal.models import SubscriptionKind
from protocol.clock import format_utc
from protocol.license import Plan
from provlab.doctor_model import Finding, Verdict
from provlab.doctor_namespace_evidence import DuoEvidence, GroupEvidence, LinkEvidence

RULE = "R25"
TIERS = {"duo_pro": "GitLab Duo Pro", "duo_enterprise": "GitLab Duo Enterprise"}
START_PATH = "Settings → Billing → Start a free GitLab Duo Pro trial"


def _plan_label(plan: str | None, trial: bool = False) -> str:
    label = Plan(plan).label if plan else "Free"
    return f"{label} trial" if trial else label


def _duo(duo: DuoEvidence) -> str:
    kind = "trial" if duo.trial else "add-on"
    return f"{TIERS.get(duo.tier, duo.tier)} {kind}, {duo.quantity} seats, {duo.starts_on} to {duo.ends_on}"


def _eligible_plan(link: LinkEvidence, today: dt.date) -> bool:
    """R25 as the portal decides it: an active paid Premium or Ultimate, or an Ultimate trial."""
    if link.plan is None or link.starts_on is None or link.ends_on is None:
        return False
    active = link.starts_on <= today < link.ends_on and link.ended_on is None
    if link.kind == SubscriptionKind.PLAN_TRIAL:
        return active and link.plan == Plan.ULTIMATE.value
    return active and link.kind == SubscriptionKind.PAID and Plan(link.plan).allows_add_ons


def _trial_ended(link: LinkEvidence, today: dt.date) -> bool:
    """The linked subscription is a GitLab.com Ultimate trial whose 30 days are over: the
    portal pushes Free for the group from then on (``portal.gitlab_com.provisioning``)."""
    return (
        link.kind == SubscriptionKind.PLAN_TRIAL
        and link.ends_on is not None
        and link.ends_on <= today
    )


def _pushed_plan(link: LinkEvidence, today: dt.date) -> str | None:
    """The plan the portal's push gives the group today."""
    return Plan.FREE.value if _trial_ended(link, today) else link.plan


def _group_findings(group: GroupEvidence) -> list[Finding]:
    if not group.found:
        return [
            Finding(
                "group_not_found",
                f"GitLab.com has no group {group.path}",
                None,
                "Ask for the group's full path as it appears in its URL (gitlab.com/<path>).",
                (f"gitlab.com: no group or subgroup has the path {group.path}",),
            )
        ]
    findings = []
    if group.root_id != group.group_id:
        findings.append(
            Finding(
                "not_top_level",
                f"{group.path} is a subgroup: trials and subscriptions belong to its top-level "
                f"group {group.root_path}",
                RULE,
                f"An owner of {group.root_path} starts the trial there ({START_PATH}); it "
                "covers the subgroups.",
                (f"gitlab.com: {group.path} is under {group.root_path}",),
            )
        )
    if group.requester and not group.requester_admin and group.requester_role != "Owner":
        role = (
            f"is a {group.requester_role} of {group.root_path}"
            if group.requester_role
            else f"is not a direct member of {group.root_path}"
            if group.requester_found
            else "is not a GitLab.com user"
        )
        findings.append(
            Finding(
                "requester_not_owner",
                f"{group.requester} is not an owner of {group.root_path}: GitLab.com says "
                f'"{NOT_OWNER}"',
                RULE,
                f"Ask an owner ({', '.join(group.owners) or 'none found'}) to start the trial, "
                f"or to make {group.requester} an Owner of {group.root_path}.",
                (
                    f"gitlab.com: {group.requester} {role}",
                    f"gitlab.com: owners of {group.root_path}: {', '.join(group.owners) or 'none'}",
                ),
            )
        )
    return findings


def _link_findings(group: GroupEvidence, link: LinkEvidence) -> list[Finding]:
    where = group.top_level_path
    gitlab_plan = f"gitlab.com: {where} is on the {_plan_label(group.plan, group.plan_trial)} plan"
    if group.plan and not group.plan_active:
        gitlab_plan += f", which ended on {group.plan_ends_on}"
    if not link.found:
        return [
            Finding(
                "no_subscription_linked",
                f"No subscription is linked to {where} in the Customers Portal: it is a Free "
                f'group, and GitLab.com says "{NOT_ELIGIBLE}"',
                RULE,
                f"The customer links their Premium or Ultimate subscription to {where} in the "
                "Customers Portal (or buys one); it is pushed to GitLab.com at once. Or an "
                "owner starts an Ultimate trial: Settings → Billing → Start a free Ultimate "
                "trial.",
                (
                    f"portal: no subscription is linked to group id {link.namespace_id} ({where})",
                    gitlab_plan,
                ),
            )
        ]
    findings = []
    push = link.push
    name = link.subscription_name
    if link.refused:
        findings.append(
            Finding(
                "push_refused",
                f"GitLab.com refused the portal's push of {name}: {link.refused}",
                RULE,
                f"Correct the link of {name} (group id {link.namespace_id}, path "
                f"{link.namespace_path}): it must name the top-level group on GitLab.com.",
                (f"portal: the last push of {name} was refused: {link.refused}", gitlab_plan),
            )
        )
    elif push is not None and push.attempts and push.last_error:
        retry = (
            f"next try at {format_utc(push.next_run_at)}"
            if push.next_run_at
            else "no tries left: the job is parked"
        )
        findings.append(
            Finding(
                "push_failing",
                f"The portal's push of {name} to GitLab.com has failed {push.attempts} time(s): "
                f"{push.last_error}",
                RULE,
                "Check that GitLab.com is reachable from the portal and that each pins the "
                f"other's key; the job retries by itself ({retry}).",
                (
                    f"portal: job provision_namespace for {name}: {push.attempts} failed "
                    f"attempt(s), last error {push.last_error}; {retry}",
                    gitlab_plan,
                ),
            )
        )
    elif group.found and group.plan != _pushed_plan(link, link.now.date()):
        due = (
            f"due at {format_utc(push.next_run_at)}"
            if push is not None and push.next_run_at
            else "not scheduled"
        )
        findings.append(
            Finding(
                "push_not_landed",
                f"GitLab.com does not hold {name} yet: the portal's push has not landed",
                RULE,
                "Wait for the portal's push job (it is due at once after a change), or change "
                "the subscription to push it again.",
                (
                    f"portal: {name} ({_plan_label(link.plan)}) linked at "
                    f"{format_utc(link.linked_at) if link.linked_at else '?'}, last pushed "
                    f"{format_utc(link.last_provisioned_at) if link.last_provisioned_at else 'never'}; "
                    f"push {due}",
                    gitlab_plan,
                ),
            )
        )
    today = link.now.date()
    if _trial_ended(link, today):
        findings.append(
            Finding(
                "ultimate_trial_ended",
                f"The group's Ultimate trial ended on {link.ends_on}: {where} is on the Free "
                f"plan again, not on a paid plan or Ultimate trial, and GitLab.com says "
                f'"{NOT_ELIGIBLE}"',
                RULE,
                f"The customer buys Premium or Ultimate for {where} (a group gets one Ultimate "
                "trial), then an owner starts the GitLab Duo Pro trial.",
                (
                    f"portal: {name} is an Ultimate trial ({link.kind}) that ran "
                    f"{link.starts_on} to {link.ends_on}; today is {today}",
                    gitlab_plan,
                ),
            )
        )
    elif not _eligible_plan(link, today):
        state = (
            f"ended on {link.ended_on}"
            if link.ended_on
            else f"runs {link.starts_on} to {link.ends_on}"
        )
        findings.append(
            Finding(
                "free_group_without_ultimate_trial",
                f"{where} has no active paid subscription or Ultimate trial: GitLab.com says "
                f'"{NOT_ELIGIBLE}"',
                RULE,
                f"The customer renews or buys Premium or Ultimate for {where}, or starts an "
                "Ultimate trial, then an owner starts the GitLab Duo Pro trial.",
                (
                    f"portal: {name} is {_plan_label(link.plan, link.kind == SubscriptionKind.PLAN_TRIAL)} "
                    f"({link.kind}) and {state}; today is {today}",
                    gitlab_plan,
                ),
            )
        )
    return findings


def _duo_findings(group: GroupEvidence, link: LinkEvidence) -> tuple[list[Finding], bool]:
    """Findings about GitLab Duo, and whether a trial is applied and active (healthy)."""
    where = group.top_level_path
    today = link.now.date()
    trials = [duo for duo in link.duo if duo.trial]
    active_trial = next((duo for duo in trials if duo.active_on(today)), None)
    paid = next((duo for duo in link.duo if not duo.trial and duo.ends_on > today), None)
    if active_trial is not None:
        held = group.duo
        if held is not None and held.trial and held.active_on(group.now.date()):
            return [], True
        return [
            Finding(
                "trial_not_applied",
                f"The portal created the trial for {where}, but GitLab.com does not hold it",
                RULE,
                "The trial is applied from the portal's answer (or its next push): check the "
                "push's state below and GitLab.com's log.",
                (
                    f"portal: {_duo(active_trial)}",
                    f"gitlab.com: {_duo(held) if held else 'no GitLab Duo add-on'}",
                ),
            )
        ], False
    if paid is not None:
        return [
            Finding(
                "has_duo_add_on",
                f"{where} already has {TIERS.get(paid.tier, paid.tier)}: GitLab.com says "
                f'"{ALREADY}"',
                RULE,
                "No trial is needed: an owner assigns the add-on's seats (Settings → Usage "
                "Quotas → GitLab Duo), or sales adds seats.",
                (f"portal: {_duo(paid)}",),
            )
        ], False
    if trials:
        last = trials[-1]
        return [
            Finding(
                "had_duo_trial",
                f"{where} had a GitLab Duo trial, which ended on {last.ends_on}: a group gets "
                f'one, and GitLab.com says "{ALREADY}"',
                RULE,
                "Offer GitLab Duo Pro (self-serve in the Customers Portal) or ask sales for a $0 "
                "extension order.",
                (f"portal: {_duo(last)}",),
            )
        ], False
    return [], False


def diagnose_namespace_trial(group: GroupEvidence, link: LinkEvidence | None) -> Verdict:
    """The verdict for a GitLab.com group's Duo Pro trial (R25)."""
    findings = _group_findings(group)
    healthy = False
    if group.found and link is not None:
        duo, healthy = _duo_findings(group, link)
        findings += _link_findings(group, link) if not healthy else []
        findings += duo
    evidence = _evidence(group, link)
    where = group.top_level_path
    if healthy:
        trial = next(duo for duo in (link.duo if link else ()) if duo.trial)
        return Verdict(
            Finding(
                "trial_active",
                f"The GitLab Duo Pro trial is applied to {where} and active until "
                f'{trial.ends_on}; a second request is refused ("{ALREADY}")',
                RULE,
                f"An owner assigns its seats: {where} → Settings → Usage Quotas → GitLab Duo.",
                (f"portal: {_duo(trial)}", f"gitlab.com: {_duo(group.duo) if group.duo else '-'}"),
            ),
            evidence,
            healthy=True,
        )
    if not findings:
        findings.append(
            Finding(
                "trial_not_requested",
                f"Nothing blocks a GitLab Duo Pro trial for {where}: none has been requested",
                RULE,
                f"An owner ({', '.join(group.owners) or '?'}) starts it: {START_PATH}, "
                "Activate my trial; it applies at once.",
                ("portal: no GitLab Duo purchase or trial on the linked subscription",),
            )
        )
    return Verdict(findings[0], evidence, tuple(findings[1:]))


def _evidence(group: GroupEvidence, link: LinkEvidence | None) -> list[str]:
    lines = [f"gitlab.com: now {format_utc(group.now)}"]
    if group.found:
        lines += [
            f"gitlab.com: group {group.path} (id {group.group_id}), top-level group "
            f"{group.root_path} (id {group.root_id}), owners {', '.join(group.owners) or '-'}",
            f"gitlab.com: plan {_plan_label(group.plan, group.plan_trial)}"
            + (
                f", {group.seats} seats until {group.plan_ends_on}, provisioned at "
                f"{format_utc(group.provisioned_at)}"
                if group.plan and group.provisioned_at
                else ""
            ),
            f"gitlab.com: GitLab Duo {_duo(group.duo) if group.duo else 'none'}",
        ]
        if group.requester:
            lines.append(
                f"gitlab.com: requester {group.requester}: "
                + (
                    f"{group.requester_role or 'no role'} in {group.root_path}"
                    + (" (administrator)" if group.requester_admin else "")
                    if group.requester_found
                    else "unknown user"
                )
                + f"; GitLab.com's answer to a request now: {group.refusal or 'allowed'}"
            )
    else:
        lines.append(f"gitlab.com: no group {group.path}")
    if link is None:
        lines.append("portal: not read (no portal database)")
        return lines
    lines.append(f"portal: now {format_utc(link.now)}")
    if not link.found:
        lines.append("portal: no subscription linked to the group")
        return lines
    lines.append(
        f"portal: {link.subscription_name} {_plan_label(link.plan)} ({link.kind}) "
        f"{link.starts_on} to {link.ends_on}, linked to {link.namespace_path} (id "
        f"{link.namespace_id}) at {format_utc(link.linked_at) if link.linked_at else '?'}"
    )
    pushed = format_utc(link.last_provisioned_at) if link.last_provisioned_at else "never"
    lines.append(f"portal: last push landed {pushed}; refused: {link.refused or 'no'}")
    if link.push is not None:
        push = link.push
        lines.append(
            f"portal: push job: {push.attempts} failed attempt(s), last error "
            f"{push.last_error or '-'}, next run "
            f"{format_utc(push.next_run_at) if push.next_run_at else '-'}"
        )
    for duo in link.duo:
        lines.append(f"portal: {_duo(duo)}")
    return lines
