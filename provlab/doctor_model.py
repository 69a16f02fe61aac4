"""What the doctor reads (each party's evidence) and what it says (findings and a verdict).

A finding names a cause, the rule, the next action and the facts it rests on, each fact saying
which party it comes from ("portal: …", "instance: …"), so a support engineer can check it
before repeating it to the customer. A verdict is the first finding on the path plus every
other one ("also"), so fixing one blocker does not lead to a second ticket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """A subscription a misnamed request may have meant, and how the requester is tied to it."""

    name: str
    because: str  # "owner@customer.test is its contact"


@dataclass(frozen=True)
class LeadEvidence:
    submitted_at: dt.datetime
    email: str
    country: str
    add_on: str | None  # None: GitLab.com's lead for an Ultimate trial
    status: str  # "pending", "trial_created", "dropped"
    reason: str | None = None
    reason_detail: str | None = None
    processed_at: dt.datetime | None = None
    subscription_name: str = ""  # as the requester typed it (upper-cased)
    company: str = ""
    # A pending request: what lead processing will decide, by the portal's own rules, today.
    expected_reason: str | None = None
    expected_detail: str | None = None
    expected_at: dt.datetime | None = None  # the lead processing run that will decide it
    # A request naming no subscription: the requester's and their company's subscriptions, and
    # the closest name among them.
    candidates: tuple[Candidate, ...] = ()
    close_match: str | None = None


@dataclass(frozen=True)
class TrialEvidence:
    tier: str
    quantity: int
    starts_on: dt.date
    ends_on: dt.date
    created_at: dt.datetime
    extended_at: dt.datetime | None = None  # sales' last $0 extension order (R23)


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
    reported_version: str | None = None  # what the instance sent at activation or last sync
    # Requests from this subscription's contact or customer naming no subscription (a typo).
    misnamed_leads: tuple[LeadEvidence, ...] = ()
    # No subscription by this name: those of the requesters (by email, or company), the closest.
    candidates: tuple[Candidate, ...] = ()
    close_match: str | None = None


# Where an instance's GitLab version comes from: its serving process (live), what it stored
# at its last sync attempt, or a bundle that does not say (older bundles: the exporting
# process's configuration, which may not be the running instance's).
RUNNING = "running instance"
LAST_SYNC_ATTEMPT = "last sync attempt"
UNSTATED = "unstated"


@dataclass(frozen=True)
class InstanceEvidence:
    now: dt.datetime
    license_type: str | None  # None: no license at all
    subscription_name: str | None
    gitlab_version: str | None
    last_sync_at: dt.datetime | None
    last_sync_error: str | None
    next_sync_at: dt.datetime | None
    duo_tier: str | None = None  # the add-on purchase the instance knows of
    duo_quantity: int = 0
    duo_trial: bool = False
    duo_ends_on: dt.date | None = None
    assigned_seats: int = 0
    proxy: str | None = None
    instance_id: str | None = None
    version_source: str = RUNNING
    version_at: dt.datetime | None = None


@dataclass(frozen=True)
class Finding:
    cause: str
    headline: str
    rule: str | None
    next_action: str
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "headline": self.headline,
            "rule": self.rule,
            "next_action": self.next_action,
            "facts": list(self.facts),
        }


@dataclass(frozen=True)
class Verdict:
    finding: Finding
    evidence: list[str] = field(default_factory=list)
    also: tuple[Finding, ...] = ()
    healthy: bool = False

    @property
    def cause(self) -> str:
        return self.finding.cause

    @property
    def headline(self) -> str:
        return self.finding.headline

    @property
    def rule(self) -> str | None:
        return self.finding.rule

    @property
    def next_action(self) -> str:
        return self.finding.next_action

    @property
    def facts(self) -> tuple[str, ...]:
        return self.finding.facts

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, the verdict's first (empty when healthy)."""
        return () if self.healthy else (self.finding, *self.also)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.finding.to_dict(),
            "healthy": self.healthy,
            "also": [each.to_dict() for each in self.also],
            "findings": [each.to_dict() for each in self.findings],
            "evidence": self.evidence,
        }

    def render(self) -> str:
        lines = _block("VERDICT: ", self.finding, "         ")
        for other in self.also:
            lines += ["", *_block("ALSO:    ", other, "         ")]
        lines += ["", "Evidence:"]
        lines += [f"  - {line}" for line in self.evidence]
        return "\n".join(lines)


def _block(label: str, finding: Finding, indent: str) -> list[str]:
    rule = f" [{finding.rule}]" if finding.rule else ""
    lines = [f"{label}{finding.headline}{rule}"]
    for number, fact in enumerate(finding.facts):
        lines.append(f"{'BECAUSE: ' if number == 0 else indent}{fact}")
    lines.append(f"NEXT:    {finding.next_action}")
    return lines
