"""The trial doctor's first steps: the subscription exists, the trial request reached the portal,
was processed, became a trial that is still running — or why not (R11, R12, R19-R23).

Known answers come early: a request that is still waiting for lead processing is judged by the
rules sales will apply (an embargoed country, R22, is known from the country the form stored),
and a request naming no subscription is matched, through the requester's email and company, with
the subscription they most likely meant. A trial that has ended is not started again by a new
request; sales extends it as a $0 order (R23).
"""

from __future__ import annotations

from protocol.clock import format_utc
from provlab.doctor_facts import lead_fact, trial_fact
from provlab.doctor_model import Candidate, Finding, LeadEvidence, PortalEvidence, TrialEvidence
from provlab.doctor_reasons import DROP_REASONS, Explanation

EXTEND_BY_SALES = (
    "Support cannot extend Duo trials: ask sales to extend it as a $0 order on the subscription; "
    "it reaches the instance at its next sync (or at once with Synchronize subscription in "
    "Admin → Subscription). Submitting the trial form again starts no second trial."
)


def unknown_subscription(portal: PortalEvidence) -> Finding:
    """Step 1: no subscription has the name asked about; who asked, and what they likely meant."""
    name, match = portal.subscription_name, portal.close_match
    facts = [f"portal: no subscription is named {name}"]
    for lead in portal.leads:
        facts.append(f"portal: {lead_fact(lead)}")
        if lead.expected_detail:
            facts.append(f"portal (lead processing {_when(lead)}): {lead.expected_detail}")
    facts += _candidate_facts(name, portal.candidates, match)
    headline = f"No subscription named {name} exists in the portal"
    action = "Ask the customer for the subscription name shown as a badge on the subscription page."
    if match:
        headline += f"; the requester's subscription {match} is the closest name"
        action = (
            f"Confirm with the customer that they mean {match}; they submit the trial form again "
            f"with {match} (the badge on its page), and `provlab doctor trial --subscription "
            f"{match}` follows it from there."
        )
    return Finding("unknown_subscription", headline, "R20", action, tuple(facts))


def request_path(portal: PortalEvidence, trial: TrialEvidence | None) -> Finding | None:
    """Steps 2-4: the request reached the portal, was processed, became a trial still running."""
    ended = trial is not None and trial.ends_on <= portal.now.date()
    if trial is not None and not ended:
        return None
    lead = portal.leads[-1] if portal.leads else None
    # The latest request speaks for the case unless the trial it asked for came after it.
    if lead is not None and (trial is None or lead.submitted_at >= trial.created_at):
        found = _latest_request(portal, lead, trial)
        if found is not None:
            return found
    if trial is None and portal.misnamed_leads:
        return _misnamed_request(portal, portal.misnamed_leads[-1])
    if trial is None:
        return Finding(
            "no_trial_request",
            "The portal has received no trial request for this subscription",
            "R21",
            "Ask the customer to submit the GitLab Duo trial form with the subscription name "
            "and the subscription contact's email.",
            (f"portal: no trial request names {portal.subscription_name}",),
        )
    assert trial is not None
    return Finding(
        "trial_ended",
        f"The trial ended on {trial.ends_on}",
        "R23",
        EXTEND_BY_SALES,
        (_against_today(portal, trial),),
    )


def _latest_request(
    portal: PortalEvidence, lead: LeadEvidence, trial: TrialEvidence | None
) -> Finding | None:
    """What became of the latest request, or what lead processing will make of it."""
    facts = [f"portal: {lead_fact(lead)}"]
    ended = (_against_today(portal, trial),) if trial else ()
    if lead.status == "pending" and lead.expected_reason:
        explained = _explain(lead.expected_reason)
        when = _when(lead)
        facts.append(f"portal (lead processing {when}, by today's rules): {lead.expected_detail}")
        return Finding(
            lead.expected_reason,
            explained.ahead + f" (lead processing {when})",
            explained.rule,
            explained.action,
            (*facts, *ended),
        )
    if lead.status == "pending":
        at = lead.expected_at or portal.next_lead_processing_at
        return Finding(
            "lead_not_processed",
            "The trial request was received but not processed yet (sales process requests "
            "through the marketing system, not instantly)",
            "R21",
            f"Wait for the next processing at {format_utc(at)}."
            if at
            else "Wait for sales to process the request.",
            tuple(facts),
        )
    if lead.status == "dropped" or trial is None:
        explained = _explain(lead.reason or "dropped")
        if lead.reason_detail:
            facts.append(f"portal (internal): {lead.reason_detail}")
        return Finding(
            lead.reason or "dropped",
            explained.headline,
            explained.rule,
            explained.action,
            (*facts, *ended),
        )
    return None


def _misnamed_request(portal: PortalEvidence, lead: LeadEvidence) -> Finding:
    """No request names this subscription, but its contact asked for a trial under another name."""
    name, typed = portal.subscription_name, lead.subscription_name
    match = lead.close_match
    done = "lead processing will drop it" if lead.status == "pending" else "it was dropped"
    facts = [
        f"portal: no trial request names {name}",
        f"portal: {lead_fact(lead, named=True)}",
        f"portal: no subscription is named {typed}",
        *_candidate_facts(typed, lead.candidates, match),
    ]
    if lead.expected_at:
        facts.append(f"portal: lead processing takes it at {format_utc(lead.expected_at)}")
    meant = match or name
    return Finding(
        "unknown_subscription",
        f"The trial request from {lead.email} named {typed}, not {name}: no subscription has "
        f"that name, so {done} and no trial is created",
        "R20",
        f"Ask the customer to submit the trial form again with the subscription name {meant} "
        "(the badge on the subscription page) and the subscription contact's email.",
        tuple(facts),
    )


def _candidate_facts(typed: str, candidates: tuple[Candidate, ...], match: str | None) -> list[str]:
    facts = [f"portal: {each.name}: {each.because}" for each in candidates]
    if candidates:
        names = ", ".join(each.name for each in candidates)
        facts.append(
            f"portal: closest to {typed} of the requester's subscriptions ({names}): {match}"
            if match
            else f"portal: none of the requester's subscriptions ({names}) is close to {typed}"
        )
    return facts


def _against_today(portal: PortalEvidence, trial: TrialEvidence) -> str:
    """The trial as the portal records it, and today's date: whether it has ended."""
    return f"portal: {trial_fact(trial)}; today is {portal.now.date()}"


def _when(lead: LeadEvidence) -> str:
    return f"at {format_utc(lead.expected_at)}" if lead.expected_at else "when sales process it"


def _explain(reason: str) -> Explanation:
    if reason in DROP_REASONS:
        return DROP_REASONS[reason]
    # A reason the doctor has no words for is said the same ahead of lead processing and after.
    dropped = f"The trial request was dropped ({reason})"
    return Explanation(dropped, "R21", "Check the reason with sales.", said_ahead=dropped)
