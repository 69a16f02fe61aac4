"""Why sales dropped a trial request, as the support engineer needs to hear it: the headline, the
rule and the next action for each ``portal.leads.Reason``."""

from __future__ import annotations

from dataclasses import dataclass

from portal.leads import Reason


@dataclass(frozen=True)
class Explanation:
    headline: str
    rule: str
    action: str


# Why sales dropped a lead, as the support engineer needs to hear it.
DROP_REASONS: dict[str, Explanation] = {
    Reason.EMBARGOED_COUNTRY: Explanation(
        headline=(
            "The trial request came from an embargoed country: the form showed success, but the "
            "application failed silently and no trial was created"
        ),
        rule="R22",
        action=(
            "No trial can be created for this requester. Ask in #duo-pro-trial-requests for clarification; "
            "do not tell the customer more than policy allows."
        ),
    ),
    Reason.EMAIL_NOT_CONTACT: Explanation(
        headline=("The email on the trial request is not the subscription contact's email"),
        rule="R20",
        action=(
            "Ask the customer to submit the trial form again with the subscription contact's email "
            "(or change the subscription contact first)."
        ),
    ),
    Reason.PLAN_TRIAL_IN_PROGRESS: Explanation(
        headline=(
            "The subscription is a self-managed Ultimate plan trial (a legacy license): Duo cannot be "
            "trialled at the same time"
        ),
        rule="R11",
        action=(
            "The customer must finish the Ultimate trial, then request the Duo trial separately."
        ),
    ),
    Reason.COMMUNITY_PROGRAM: Explanation(
        headline=(
            "Community-program subscriptions (legacy licenses) are not eligible for a Duo trial"
        ),
        rule="R12",
        action=("No Duo trial is possible on a community-program subscription."),
    ),
    Reason.FREE_PLAN: Explanation(
        headline=(
            "The subscription is on the Free plan: Duo trials need an active paid Premium or Ultimate "
            "subscription"
        ),
        rule="R19",
        action=("The customer needs a paid Premium or Ultimate subscription first."),
    ),
    Reason.NOT_PAID: Explanation(
        headline=("The subscription is not a paid subscription"),
        rule="R19",
        action=("The customer needs an active paid Premium or Ultimate subscription."),
    ),
    Reason.EXPIRED: Explanation(
        headline=("The subscription is not active (expired or not started)"),
        rule="R19",
        action=("Renew the subscription, then request the trial again."),
    ),
    Reason.ALREADY_HAS_DUO: Explanation(
        headline=("The subscription already has GitLab Duo (a purchase or an earlier trial)"),
        rule="R19",
        action=("No new trial is needed; to extend a trial, sales books a $0 order (R23)."),
    ),
    Reason.ALREADY_HAD_DUO_TRIAL: Explanation(
        headline="The subscription already has a GitLab Duo trial",
        rule="R19",
        action=(
            "Support cannot extend Duo trials (R23); sales can extend one as a $0 order on the "
            "subscription."
        ),
    ),
    Reason.UNKNOWN_SUBSCRIPTION: Explanation(
        headline=("The trial request named a subscription the portal does not know"),
        rule="R20",
        action=(
            "Ask the customer for the subscription name shown as a badge on the subscription page."
        ),
    ),
}
