"""Why sales dropped a trial request, as the support engineer needs to hear it: the headline, the
rule and the next action for each ``portal.leads.Reason``, and the headline said ahead of lead
processing when the portal already knows the answer (``ahead``)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.leads import Reason


@dataclass(frozen=True)
class Explanation:
    """``fact`` is what the portal knows of the request, said alike once lead processing has dropped
    it and ahead of that: the headline goes on with the ``outcome``, the headline said ahead with what
    lead processing will drop. ``said_ahead`` writes that one out whole where its tense differs."""

    fact: str
    rule: str
    action: str
    outcome: str = ""
    drops: str = "the trial request"
    said_ahead: str = ""

    @property
    def headline(self) -> str:
        return self.fact + self.outcome

    @property
    def ahead(self) -> str:
        """The headline before lead processing has dropped the request."""
        return self.said_ahead or f"{self.fact}: lead processing will drop {self.drops}"


_PAID_PLAN_NEEDED = "Duo trials need an active paid Premium or Ultimate subscription"

# Why sales dropped a lead, as the support engineer needs to hear it.
DROP_REASONS: dict[str, Explanation] = {
    Reason.EMBARGOED_COUNTRY: Explanation(
        fact=(
            "The trial request came from an embargoed country: the form showed success, but the "
            "application failed silently and no trial was created"
        ),
        rule="R22",
        action=(
            "No trial can be created for this requester. Ask in #duo-pro-trial-requests for clarification; "
            "do not tell the customer more than policy allows."
        ),
        said_ahead=(
            "The trial request comes from an embargoed country: the form showed success, but lead processing will drop it silently and create no trial"
        ),
    ),
    Reason.EMAIL_NOT_CONTACT: Explanation(
        fact="The email on the trial request is not the subscription contact's email",
        rule="R20",
        action=(
            "Ask the customer to submit the trial form again with the subscription contact's email "
            "(or change the subscription contact first)."
        ),
        drops="it",
    ),
    Reason.PLAN_TRIAL_IN_PROGRESS: Explanation(
        fact="The subscription is a self-managed Ultimate plan trial (a legacy license)",
        outcome=": Duo cannot be trialled at the same time",
        rule="R11",
        action=(
            "The customer must finish the Ultimate trial, then request the Duo trial separately."
        ),
        drops="the Duo trial request",
    ),
    Reason.COMMUNITY_PROGRAM: Explanation(
        fact="Community-program subscriptions (legacy licenses) are not eligible for a Duo trial",
        rule="R12",
        action="No Duo trial is possible on a community-program subscription.",
        drops="the request",
    ),
    Reason.FREE_PLAN: Explanation(
        fact="The subscription is on the Free plan",
        outcome=f": {_PAID_PLAN_NEEDED}",
        rule="R19",
        action="The customer needs a paid Premium or Ultimate subscription first.",
        drops=f"the trial request ({_PAID_PLAN_NEEDED})",
    ),
    Reason.NOT_PAID: Explanation(
        fact="The subscription is not a paid subscription",
        rule="R19",
        action="The customer needs an active paid Premium or Ultimate subscription.",
    ),
    Reason.EXPIRED: Explanation(
        fact="The subscription is not active (expired or not started)",
        rule="R19",
        action="Renew the subscription, then request the trial again.",
    ),
    Reason.ALREADY_HAS_DUO: Explanation(
        fact="The subscription already has GitLab Duo",
        outcome=" (a purchase or an earlier trial)",
        rule="R19",
        action="No new trial is needed; to extend a trial, sales books a $0 order (R23).",
    ),
    Reason.ALREADY_HAD_DUO_TRIAL: Explanation(
        fact="The subscription already has a GitLab Duo trial",
        rule="R19",
        action=(
            "Support cannot extend Duo trials (R23); sales can extend one as a $0 order on the "
            "subscription."
        ),
        drops="the new request",
    ),
    Reason.DUO_TRIAL_ENDED: Explanation(
        fact=(
            "The subscription's GitLab Duo trial has ended, and a subscription gets one free trial"
        ),
        outcome=": the new trial request was dropped",
        rule="R23",
        action=(
            "Support cannot extend Duo trials: ask sales to extend the ended trial as a $0 order "
            "on the subscription; it reaches the instance at its next sync (or at once with "
            "Synchronize subscription in Admin → Subscription)."
        ),
        drops="the new trial request",
    ),
    Reason.UNKNOWN_SUBSCRIPTION: Explanation(
        fact="The trial request named a subscription the portal does not know",
        rule="R20",
        action=(
            "Ask the customer for the subscription name shown as a badge on the subscription page."
        ),
        said_ahead=(
            "The trial request names a subscription the portal does not know: lead processing will drop it"
        ),
    ),
}
